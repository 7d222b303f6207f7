"""Closing a case with the final answer, and opening it again."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import signals
from cases.models import (
    Case,
    CaseEvent,
    CaseOwnershipPeriod,
    Transfer,
)
from cases.permissions import (
    ensure_can_act,
)
from cases.services.events import record_event
from cases.services.work._shared import _lock, _notify_followers, _required, next_status
from cases.services.work.messages import _message_to_company


@transaction.atomic
def case_close(*, case_id: int, actor, body: str) -> Case:
    """Close with the final answer to the company. A pending transfer is withdrawn, the
    unit's time with the case ends; `case_closed` is announced after commit (the survey
    invitation listens)."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    status = next_status(case, "close")
    body = _required(body, "body", _("Skriv det slutliga svaret till företaget."))
    now = timezone.now()
    message = _message_to_company(case, actor, body, final=True)
    case.status = status
    case.closed_at = now
    case.waiting_since = None
    case.save(
        update_fields=["status", "closed_at", "waiting_since", "first_answered_at", "updated_at"]
    )
    for transfer in case.transfers.filter(status=Transfer.Status.PENDING).select_related(
        "to_department"
    ):
        transfer.status = Transfer.Status.WITHDRAWN
        transfer.decided_at = now
        transfer.decided_by = actor
        transfer.save(update_fields=["status", "decided_at", "decided_by"])
        record_event(
            case,
            CaseEvent.Kind.TRANSFER_WITHDRAWN,
            actor=actor,
            data={"transfer_id": transfer.pk, "to": transfer.to_department.name},
        )
    CaseOwnershipPeriod.objects.filter(case=case, ended_at__isnull=True).update(ended_at=now)
    record_event(
        case, CaseEvent.Kind.CLOSED, actor=actor, public=True, data={"message_id": message.pk}
    )
    _notify_followers(
        case,
        kind="final_answer",
        template="emails/company_final_answer",
        context={"message": message},
    )
    signals.announce_on_commit(signals.case_closed, case_id=case.pk)
    return case


@transaction.atomic
def case_reopen(*, case_id: int, actor, reason: str) -> Case:
    """Open a closed case again, with a reason; the owning unit's time starts again."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    status = next_status(case, "reopen")
    reason = _required(reason, "reason", _("Skriv varför ärendet öppnas igen."))
    case.status = status
    case.closed_at = None
    case.save(update_fields=["status", "closed_at", "updated_at"])
    CaseOwnershipPeriod.objects.create(case=case, department_id=case.owning_department_id)
    record_event(case, CaseEvent.Kind.REOPENED, actor=actor, public=True, data={"reason": reason})
    return case
