"""Who holds a case: claiming it, assigning it."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cases.models import (
    Case,
    CaseEvent,
)
from cases.permissions import (
    can_assign_in,
    is_coordinator,
    unit_ids,
)
from cases.services.events import record_event
from cases.services.work._shared import (
    _is_member,
    _lock,
    _name,
    _notify_staff,
    _set_owner_row,
    next_status,
)

# --- Ownership -----------------------------------------------------------------------------


@transaction.atomic
def case_claim(*, case_id: int, actor) -> Case:
    """Take an unowned case of one's unit: the actor becomes helhetsansvarig."""
    case = _lock(case_id)
    if case.owner_id is not None:
        if case.owner_id == actor.pk:
            raise ValidationError(_("Du är redan helhetsansvarig för ärendet."))
        raise ValidationError(
            _("Ärendet har redan tagits av %(name)s.") % {"name": _name(case.owner)}
        )
    if not (is_coordinator(actor) or case.owning_department_id in unit_ids(actor)):
        raise PermissionDenied(_("Bara handläggare på den ansvariga enheten kan ta ärendet."))
    case.status = next_status(case, "claim")
    case.owner = actor
    case.needs_triage = False
    case.save(update_fields=["owner", "needs_triage", "status", "updated_at"])
    _set_owner_row(case)
    record_event(
        case, CaseEvent.Kind.CLAIMED, actor=actor, public=True, data={"owner": _name(actor)}
    )
    return case


@transaction.atomic
def case_assign(*, case_id: int, actor, assignee) -> Case:
    """A unit lead (inside the unit) or a coordinator (any case) names the helhetsansvarig."""
    case = _lock(case_id)
    if not can_assign_in(actor, case.owning_department_id):
        raise PermissionDenied(_("Bara enhetschefen eller lotssamordnaren kan fördela ärendet."))
    case.status = next_status(case, "assign")
    if not _is_member(assignee, case.owning_department_id):
        raise ValidationError(
            {
                "assignee": _("Personen är inte handläggare på %(unit)s.")
                % {"unit": case.owning_department.name}
            }
        )
    if case.owner_id == assignee.pk:
        raise ValidationError({"assignee": _("Personen är redan helhetsansvarig för ärendet.")})
    previous = case.owner
    case.owner = assignee
    case.needs_triage = False
    case.save(update_fields=["owner", "needs_triage", "updated_at"])
    _set_owner_row(case)
    record_event(
        case,
        CaseEvent.Kind.ASSIGNED,
        actor=actor,
        public=True,
        data={"owner": _name(assignee), "owner_id": assignee.pk, "previous": _name(previous)},
    )
    _notify_staff(case, kind="case_assigned", template="emails/case_assigned", users=[assignee])
    return case
