from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from routing.models import RoutingRule, TrainedRouter


class TryRoutingForm(forms.Form):
    subject = forms.CharField(label=_("Rubrik"), required=False, max_length=200)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}))


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("area", "kind", "other_area", "reason", "is_active")
    list_filter = ("kind", "is_active")
    list_select_related = ("area", "other_area")
    change_list_template = "admin/routing/routingrule/change_list.html"

    def get_urls(self):
        return [
            path(
                "prova/",
                self.admin_site.admin_view(self.try_view),
                name="routing_try",
            ),
            *super().get_urls(),
        ]

    def try_view(self, request):
        """Prova fördelningen: route a pasted text without creating a case."""
        from routing import api

        result = None
        form = TryRoutingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            result = api.route(form.cleaned_data["subject"], form.cleaned_data["text"])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Prova fördelningen"),
            "form": form,
            "result": result,
            "model": api.get_model().describe(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/routing/try.html", context)


@admin.register(TrainedRouter)
class TrainedRouterAdmin(admin.ModelAdmin):
    list_display = ("version", "trained_at", "is_active", "counts", "scores")
    list_filter = ("is_active",)
    exclude = ("artifact",)
    readonly_fields = ("version", "trained_at", "counts", "scores")

    def has_add_permission(self, request):
        return False
