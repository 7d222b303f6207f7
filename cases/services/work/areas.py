"""Correcting the responsibility areas a case concerns."""

from django.db import transaction
from django.utils.translation import gettext as _

from cases.models import (
    Case,
    CaseArea,
    CaseDepartment,
    CaseEvent,
)
from cases.permissions import (
    ensure_can_act,
)
from cases.services.events import record_event
from cases.services.work._shared import Unchanged, _lock, next_status
from departments.models import ResponsibilityArea

# --- Areas ---------------------------------------------------------------------------------


@transaction.atomic
def case_change_areas(
    *, case_id: int, actor, primary: ResponsibilityArea, others=()
) -> Case | Unchanged:
    """Correct the case's areas (primary first). The old and new areas are recorded: this is
    what the router learns from. Units owning a new area are added so they see the case.
    The same primary area and the same other areas (in any order) change nothing."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    next_status(case, "change_areas")
    new_areas = [primary] + [area for area in others if area.pk != primary.pk]
    old_rows = list(CaseArea.objects.filter(case=case).select_related("area").order_by("position"))
    old = [row.area.slug for row in old_rows]
    new = [area.slug for area in new_areas]
    if old[:1] == new[:1] and set(old[1:]) == set(new[1:]):
        return Unchanged(_("Områdena är desamma som förut, så inget har ändrats."))
    CaseArea.objects.filter(case=case).delete()
    CaseArea.objects.bulk_create(
        CaseArea(case=case, area=area, is_primary=index == 0, position=index)
        for index, area in enumerate(new_areas)
    )
    case.primary_area = primary
    case.insikt_area = primary.insikt_area
    case.save(update_fields=["primary_area", "insikt_area", "updated_at"])
    present = set(case.case_departments.values_list("department_id", flat=True))
    CaseDepartment.objects.bulk_create(
        CaseDepartment(case=case, department_id=owner_id, role=CaseDepartment.Role.CONTRIBUTOR)
        for owner_id in dict.fromkeys(area.owner_id for area in new_areas)
        if owner_id not in present
    )
    record_event(
        case,
        CaseEvent.Kind.AREAS_CHANGED,
        actor=actor,
        data={
            "old": old,
            "new": new,
            "old_names": [row.area.name for row in old_rows],
            "new_names": [area.name for area in new_areas],
            "old_primary": old[0] if old else None,
            "new_primary": new[0],
            "owner_of_primary_id": primary.owner_id,
        },
    )
    return case
