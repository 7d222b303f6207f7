"""API clients, their webhooks and the deliveries, for the administrator.

A client's token is shown once, on the page right after the client is saved with
"Skapa ny nyckel" (always for a new client); only its SHA-256 is stored."""

from django import forms
from django.contrib import admin
from django.db import models
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from api.models import ApiClient, ExternalReference, WebhookDelivery, WebhookSubscription


class WebhookSubscriptionInline(admin.TabularInline):
    model = WebhookSubscription
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0
    fields = ["target_url", "event_kinds", "secret", "is_active"]


class ApiClientForm(forms.ModelForm):
    new_token = forms.BooleanField(
        label=_("Skapa ny nyckel"),
        required=False,
        help_text=_("Den gamla nyckeln slutar gälla. Den nya visas en gång, när du sparar."),
    )

    class Meta:
        model = ApiClient
        fields = [
            "name",
            "department",
            "can_read",
            "can_create_inquiries",
            "can_write_messages",
            "can_set_external_references",
            "rate_limit",
            "oidc_client_id",
            "expires_at",
            "is_active",
        ]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "is_active", "expires_at", "last_used_at"]
    list_filter = ["is_active", "department"]
    search_fields = ["name", "oidc_client_id"]
    readonly_fields = ["token_start", "last_used_at", "created_at"]
    fields = [
        "name",
        "department",
        ("can_read", "can_create_inquiries"),
        ("can_write_messages", "can_set_external_references"),
        "rate_limit",
        "oidc_client_id",
        "expires_at",
        "is_active",
        "new_token",
        "token_start",
        "last_used_at",
        "created_at",
    ]
    inlines = [WebhookSubscriptionInline]
    form = ApiClientForm

    def get_changeform_initial_data(self, request):
        return {**super().get_changeform_initial_data(request), "new_token": True}

    @admin.display(description=_("Nyckelns början"))
    def token_start(self, obj):
        return f"{obj.token_selector}…" if obj.token_selector else "–"

    def save_model(self, request, obj, form, change):
        if not change or form.cleaned_data.get("new_token"):
            request._api_new_token = obj.new_token()
        super().save_model(request, obj, form, change)

    def _token_page(self, request, obj, response):
        token = getattr(request, "_api_new_token", None)
        if token is None:
            return response
        page = TemplateResponse(
            request,
            "api/token_created.html",
            {
                **self.admin_site.each_context(request),
                "client": obj,
                "token": token,
                "opts": self.model._meta,
                "title": _("Nyckeln för %(name)s") % {"name": obj.name},
            },
        )
        page["Cache-Control"] = "no-store"
        return page

    def response_add(self, request, obj, post_url_continue=None):
        return self._token_page(request, obj, super().response_add(request, obj, post_url_continue))

    def response_change(self, request, obj):
        return self._token_page(request, obj, super().response_change(request, obj))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_kind",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_kind"]
    list_select_related = ["subscription__client"]
    readonly_fields = [
        "subscription",
        "event",
        "event_kind",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_response",
        "created_at",
        "delivered_at",
    ]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Försök leverera igen (i ett dygn till)"))
    def retry(self, request, queryset):
        now = timezone.now()
        count = queryset.exclude(status=WebhookDelivery.Status.SENT).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=now, created_at=now
        )
        self.message_user(request, _("%(n)d leveranser köas igen.") % {"n": count})


@admin.register(ExternalReference)
class ExternalReferenceAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["case", "system", "reference", "set_by", "updated_at"]
    search_fields = ["case__reference", "reference"]
    list_select_related = ["case", "set_by"]
    raw_id_fields = ["case"]
