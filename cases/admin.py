"""Admin for support and data fixes. Cases are public records: nothing is deleted here.

A case's state (status, owner, unit, deadlines, routing) changes only through the services,
which record an event and send the e-mails; in the admin those fields are read-only and a
link leads to the case page where the actions are."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseEvent, Company, Message
from cases.phone import clean_phone
from foretagslots.admin_display import moment, person, readable_json


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    verbose_name = _("händelse")
    verbose_name_plural = _("händelser")
    fields = ["when", "what", "who", "public", "details"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("Tid"))
    def when(self, obj):
        return moment(obj.created_at)

    @admin.display(description=_("Händelse"))
    def what(self, obj):
        return obj.get_kind_display()

    @admin.display(description=_("Vem"))
    def who(self, obj):
        return person(obj.actor) if obj.actor_id else _("systemet")

    @admin.display(description=_("Syns för företaget"), boolean=True)
    def public(self, obj):
        return obj.is_public

    @admin.display(description=_("Uppgifter"))
    def details(self, obj):
        return readable_json(obj.data)


class MessageInline(ReadOnlyInline):
    model = Message
    verbose_name = _("meddelande")
    verbose_name_plural = _("meddelanden")
    fields = ["when", "what", "author_shown", "body", "is_confidential"]
    readonly_fields = fields

    @admin.display(description=_("Tid"))
    def when(self, obj):
        return moment(obj.created_at)

    @admin.display(description=_("Slag"))
    def what(self, obj):
        return obj.get_kind_display()

    @admin.display(description=_("Skrivet av"))
    def author_shown(self, obj):
        return obj.author_name or "–"


# Fields that only the services change: each change is an event and often an e-mail.
STATE_FIELDS = [
    "status",
    "owning_department",
    "owner_name",
    "primary_area",
    "received_at",
    "first_answer_due",
    "due_at",
    "first_answered_at",
    "closed_at",
    "waiting_since_shown",
    "deadline_note",
    "transfer_count",
    "needs_triage",
    "routing_confidence_shown",
    "routing_explanation_shown",
    "insikt_area_shown",
    "is_confidential",
    "anonymised_at_shown",
]


class CaseAdminForm(forms.ModelForm):
    def clean_contact_phone(self):
        return clean_phone(self.cleaned_data["contact_phone"])


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    form = CaseAdminForm
    list_display = ["reference", "subject", "company", "status", "owning_department", "owner_name"]
    list_filter = ["status", "channel", "owning_department", "needs_triage"]
    search_fields = ["reference", "subject", "company__name", "company__org_number"]
    list_select_related = ["company", "owning_department", "owner"]
    readonly_fields = ["reference", "case_page", *STATE_FIELDS]
    raw_id_fields = ["company"]
    fieldsets = [
        (
            None,
            {
                "fields": ["reference", "case_page"],
                "description": _(
                    "Status, helhetsansvarig, enhet, tidsgränser och fördelning ändras bara på "
                    "ärendesidan: där blir varje ändring en händelse och företaget får veta det."
                ),
            },
        ),
        (
            _("Företag och kontaktperson"),
            {"fields": ["company", "contact_name", "contact_email", "contact_phone"]},
        ),
        (_("Frågan"), {"fields": ["subject", "description", "channel"]}),
        (_("Ärendets läge (ändras på ärendesidan)"), {"fields": STATE_FIELDS}),
    ]
    inlines = [MessageInline, CaseEventInline]

    @admin.display(description=_("Helhetsansvarig"), ordering="owner__first_name")
    def owner_name(self, obj):
        return person(obj.owner)

    @admin.display(description=_("Väntar på företaget sedan"))
    def waiting_since_shown(self, obj):
        return moment(obj.waiting_since)

    @admin.display(description=_("Fördelningens säkerhet"))
    def routing_confidence_shown(self, obj):
        return "–" if obj.routing_confidence is None else f"{obj.routing_confidence:.2f}"

    @admin.display(description=_("Varför fördelningen blev så"))
    def routing_explanation_shown(self, obj):
        return obj.routing_explanation or "–"

    @admin.display(description=_("Insikt-område"))
    def insikt_area_shown(self, obj):
        return obj.insikt_area or "–"

    @admin.display(description=_("Avidentifierat"))
    def anonymised_at_shown(self, obj):
        return moment(obj.anonymised_at)

    @admin.display(description=_("Ärendesidan"))
    def case_page(self, obj):
        if not obj or not obj.pk:
            return "–"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("staff:case_detail", args=[obj.reference]),
            _("Öppna ärendet för att fördela, överlämna, ändra tidsgräns eller avsluta"),
        )

    def has_add_permission(self, request):
        return False  # cases are registered through intake, which routes them

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "org_number_shown", "registered"]
    search_fields = ["name", "org_number"]

    @admin.display(description=_("Organisationsnummer"))
    def org_number_shown(self, obj):
        return obj.org_number_display or "–"

    @admin.display(description=_("Registrerat"), ordering="created_at")
    def registered(self, obj):
        return obj.created_at

    def has_delete_permission(self, request, obj=None):
        return False
