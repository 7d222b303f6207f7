"""Reads for the API: what a client sees is what its unit sees on the web."""

from django.db.models import Prefetch

from api.models import ApiClient, ExternalReference
from cases.models import Case, CaseArea, CaseEvent


def cases_visible_to(client: ApiClient):
    """All cases for a client without a unit (as the coordinator); else the unit's."""
    if client.department_id is None:
        return Case.objects.all()
    return Case.objects.visible_to_units([client.department_id])


def case_list(client: ApiClient):
    """Cases with everything the list shows, in a fixed number of queries per page."""
    return with_details(cases_visible_to(client))


def with_details(cases):
    return cases.select_related(
        "owning_department", "owner", "company", "primary_area"
    ).prefetch_related(
        Prefetch("case_areas", queryset=CaseArea.objects.select_related("area")),
        Prefetch("external_references", queryset=ExternalReference.objects.order_by("system")),
    )


def events_visible_to(client: ApiClient):
    """Every change on the client's cases, oldest first; page views are not changes."""
    events = CaseEvent.objects.exclude(kind=CaseEvent.Kind.VIEWED).select_related("case")
    if client.department_id is not None:
        events = events.filter(case__in=cases_visible_to(client).values("pk"))
    return events


def case_is_visible_to(client: ApiClient, case_id: int) -> bool:
    return cases_visible_to(client).filter(pk=case_id).exists()
