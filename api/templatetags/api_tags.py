"""The case page shows where else a case lives (set by other systems through the API)."""

from django import template

from api.models import ExternalReference

register = template.Library()


@register.inclusion_tag("api/external_references.html")
def external_references(case):
    return {"references": ExternalReference.objects.filter(case=case).order_by("system")}
