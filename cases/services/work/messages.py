"""Writing to the company, internal notes, and waiting for the company's answer."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    Case,
    CaseEvent,
    Message,
)
from cases.permissions import (
    can_act_on_case,
    ensure_can_act,
    unit_ids,
)
from cases.services.attachments import attachments_store
from cases.services.events import record_event
from cases.services.work._shared import (
    _lock,
    _move_status,
    _name,
    _notify_followers,
    _required,
    next_status,
)

# --- Messages ------------------------------------------------------------------------------


def _message_to_company(case: Case, actor, body: str, *, final: bool = False) -> Message:
    message = Message.objects.create(
        case=case,
        kind=Message.Kind.TO_COMPANY,
        author=actor,
        author_name=_name(actor),
        body=body,
        is_final_answer=final,
    )
    if case.first_answered_at is None:
        case.first_answered_at = message.created_at
    return message


@transaction.atomic
def case_reply(*, case_id: int, actor, body: str, files=()) -> Message:
    """Write to the company: e-mailed to everyone following the case, shown on the tracking
    page. The first reply is the case's first answer. `files` are checked attachments."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    status = next_status(case, "reply")
    body = _required(body, "body", _("Skriv svaret till företaget."))
    message = _message_to_company(case, actor, body)
    attachments_store(case=case, message=message, files=files, from_company=False)
    case.status = status
    case.save(update_fields=["status", "first_answered_at", "updated_at"])
    record_event(
        case, CaseEvent.Kind.REPLIED, actor=actor, public=True, data={"message_id": message.pk}
    )
    _notify_followers(
        case, kind="reply", template="emails/company_reply", context={"message": message}
    )
    return message


def _ensure_can_note(actor, case: Case) -> None:
    if can_act_on_case(actor, case):
        return
    mine = unit_ids(actor)
    if case.case_departments.filter(department_id__in=mine).exists():
        return
    if case.case_departments.filter(officer=actor).exists():
        return
    raise PermissionDenied(_("Du har inte behörighet att skriva i ärendet."))


@transaction.atomic
def case_add_note(*, case_id: int, actor, body: str, files=()) -> Message:
    """An internal note: for officers only, never shown to the company. Contributing units
    write notes too, and may attach documents (`files`, checked) to them."""
    case = _lock(case_id)
    _ensure_can_note(actor, case)
    next_status(case, "note")
    body = _required(body, "body", _("Skriv anteckningen."))
    message = Message.objects.create(
        case=case, kind=Message.Kind.INTERNAL, author=actor, author_name=_name(actor), body=body
    )
    attachments_store(case=case, message=message, files=files, from_company=False)
    _move_status(case, "note")
    record_event(case, CaseEvent.Kind.NOTE_ADDED, actor=actor, data={"message_id": message.pk})
    return message


@transaction.atomic
def case_wait_for_company(*, case_id: int, actor, body: str) -> Message:
    """Ask the company for more information (komplettering); the clock stops until it
    answers through its tracking page."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    status = next_status(case, "wait_for_company")
    body = _required(body, "body", _("Skriv vad företaget behöver komplettera med."))
    message = _message_to_company(case, actor, body)
    case.status = status
    case.waiting_since = timezone.now()
    case.save(update_fields=["status", "waiting_since", "first_answered_at", "updated_at"])
    record_event(
        case,
        CaseEvent.Kind.WAITING_FOR_COMPANY,
        actor=actor,
        public=True,
        data={"message_id": message.pk},
    )
    _notify_followers(
        case,
        kind="waiting_for_company",
        template="emails/company_waiting",
        context={"message": message},
    )
    return message
