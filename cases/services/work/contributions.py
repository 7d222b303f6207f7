"""Asking another unit for a contribution; that unit taking and giving it."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    Case,
    CaseDepartment,
    CaseEvent,
)
from cases.permissions import (
    ensure_can_act,
    is_coordinator,
    unit_ids,
)
from cases.services.events import record_event
from cases.services.work._shared import (
    _lock,
    _move_status,
    _name,
    _notify_staff,
    _required,
    next_status,
)
from departments.models import Department

# --- Contributions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributionRequest:
    part: CaseDepartment
    after_case_due: bool


@transaction.atomic
def case_request_contribution(
    *, case_id: int, actor, department: Department, question: str, due_on: dt.date
) -> ContributionRequest:
    """Ask another unit for underlag or yttrande by a date. A due date after the case's own
    deadline is allowed but flagged (`after_case_due`)."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    next_status(case, "request_contribution")
    question = _required(question, "question", _("Skriv vad enheten ska svara på."))
    if department.pk == case.owning_department_id:
        raise ValidationError({"department": _("Välj en annan enhet än den som äger ärendet.")})
    if due_on is None:
        raise ValidationError({"due_on": _("Ange när svaret behövs.")})
    if due_on < timezone.localdate():
        raise ValidationError({"due_on": _("Datumet har redan passerat. Välj ett senare datum.")})
    part = CaseDepartment.objects.filter(case=case, department=department).first()
    if part is not None and part.is_outstanding:
        raise ValidationError(
            {
                "department": _("%(unit)s har redan en obesvarad begäran i ärendet.")
                % {"unit": department.name}
            }
        )
    if part is None:
        part = CaseDepartment(case=case, department=department)
    part.role = CaseDepartment.Role.CONTRIBUTOR
    part.question = question
    part.requested_by = actor
    part.requested_at = timezone.now()
    part.due_on = due_on
    part.done_at = None
    part.contribution = ""
    part.officer = None
    part.save()
    _move_status(case, "request_contribution")
    after_case_due = bool(case.due_at and due_on > case.due_at)
    record_event(
        case,
        CaseEvent.Kind.CONTRIBUTION_REQUESTED,
        actor=actor,
        data={
            "part_id": part.pk,
            "department": department.name,
            "department_id": department.pk,
            "question": question,
            "due_on": due_on.isoformat(),
            "after_case_due": after_case_due,
            "case_due": case.due_at.isoformat() if case.due_at else None,
        },
    )
    _notify_staff(
        case,
        kind="contribution_requested",
        template="emails/staff_contribution_requested",
        department=department,
        part=part,
    )
    return ContributionRequest(part=part, after_case_due=after_case_due)


def _lock_outstanding_part(part_id: int) -> tuple[CaseDepartment, Case]:
    part = CaseDepartment.objects.get(pk=part_id)
    case = _lock(part.case_id)
    part = CaseDepartment.objects.select_for_update().get(pk=part_id)
    if not part.is_outstanding:
        raise ValidationError(_("Begäran är redan besvarad."))
    return part, case


def _ensure_contributor(actor, part: CaseDepartment) -> None:
    if not (is_coordinator(actor) or part.department_id in unit_ids(actor)):
        raise PermissionDenied(_("Bara den tillfrågade enheten kan svara."))


@transaction.atomic
def case_claim_contribution(*, part_id: int, actor) -> CaseDepartment:
    """An officer of the asked unit takes the contribution request from the unit's queue."""
    part, case = _lock_outstanding_part(part_id)
    _ensure_contributor(actor, part)
    next_status(case, "claim_contribution")
    if part.officer_id is not None:
        if part.officer_id == actor.pk:
            raise ValidationError(_("Du har redan tagit begäran."))
        raise ValidationError(
            _("Begäran har redan tagits av %(name)s.") % {"name": _name(part.officer)}
        )
    part.officer = actor
    part.save(update_fields=["officer"])
    record_event(
        case,
        CaseEvent.Kind.CLAIMED,
        actor=actor,
        data={"contribution": True, "department": part.department.name, "owner": _name(actor)},
    )
    return part


@transaction.atomic
def case_contribute(*, part_id: int, actor, text: str) -> CaseDepartment:
    """The asked unit answers. The helhetsansvarig is notified; nothing reaches the company."""
    part, case = _lock_outstanding_part(part_id)
    _ensure_contributor(actor, part)
    next_status(case, "contribute")
    text = _required(text, "text", _("Skriv enhetens underlag eller yttrande."))
    part.contribution = text
    part.done_at = timezone.now()
    if part.officer_id is None:
        part.officer = actor
    part.save(update_fields=["contribution", "done_at", "officer"])
    _move_status(case, "contribute")
    record_event(
        case,
        CaseEvent.Kind.CONTRIBUTION_ANSWERED,
        actor=actor,
        data={
            "part_id": part.pk,
            "department": part.department.name,
            "question": part.question,
            "text": text,
        },
    )
    _notify_staff(
        case,
        kind="contribution_answered",
        template="emails/staff_contribution_answered",
        users=[case.owner],
        department=case.owning_department,
        part=part,
    )
    return part
