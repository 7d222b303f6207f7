"""The rules every transition shares: the status table, locking, notifications."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.models import (
    Case,
    CaseDepartment,
)
from departments.models import Membership
from outbox.services import email_queue

S = Case.Status


@dataclass(frozen=True)
class Unchanged:
    """What an action returns when it found nothing to change: not an error, and nothing
    is recorded; `message` says so to the user."""

    message: str


_OPEN = (S.RECEIVED, S.IN_PROGRESS, S.WAITING_FOR_COMPANY)
_UNCHANGED_WHILE_OPEN = {status: status for status in _OPEN}
# Work on the case (a contribution asked for or given, a note drafted, a transfer offered)
# moves a new case to "under handläggning"; a case waiting for the company keeps waiting.
_WORK_STARTS = {
    S.RECEIVED: S.IN_PROGRESS,
    S.IN_PROGRESS: S.IN_PROGRESS,
    S.WAITING_FOR_COMPANY: S.WAITING_FOR_COMPANY,
}

# The allowed status changes: action -> {status before: status after}. Every transition
# consults this table; an action on a status not listed here is refused and changes nothing.
TRANSITIONS: dict[str, dict[str, str]] = {
    "claim": _UNCHANGED_WHILE_OPEN,
    "assign": _UNCHANGED_WHILE_OPEN,
    "transfer_offer": _WORK_STARTS,
    "transfer_accept": _UNCHANGED_WHILE_OPEN,
    "transfer_decline": _UNCHANGED_WHILE_OPEN,
    "change_areas": _UNCHANGED_WHILE_OPEN,
    "request_contribution": _WORK_STARTS,
    "claim_contribution": _UNCHANGED_WHILE_OPEN,
    "contribute": _WORK_STARTS,
    "reply": {
        S.RECEIVED: S.IN_PROGRESS,
        S.IN_PROGRESS: S.IN_PROGRESS,
        S.WAITING_FOR_COMPANY: S.WAITING_FOR_COMPANY,
    },
    "note": {**_WORK_STARTS, S.CLOSED: S.CLOSED},
    "wait_for_company": {S.RECEIVED: S.WAITING_FOR_COMPANY, S.IN_PROGRESS: S.WAITING_FOR_COMPANY},
    "close": dict.fromkeys(_OPEN, S.CLOSED),
    "reopen": {S.CLOSED: S.IN_PROGRESS},
}


def _refusal(action: str, status: str) -> str:
    """Why `action` is not allowed on a case with `status`, in plain Swedish."""
    if status == S.CLOSED:
        return {
            "close": _("Ärendet är redan avslutat."),
            "reply": _("Ärendet är avslutat. Återöppna det innan du svarar företaget."),
            "wait_for_company": _("Ärendet är avslutat. Återöppna det först."),
        }.get(action, _("Ärendet är avslutat. Återöppna det först."))
    if action == "reopen":
        return _("Ärendet är inte avslutat och kan inte återöppnas.")
    if action == "wait_for_company" and status == S.WAITING_FOR_COMPANY:
        return _("Ärendet väntar redan på komplettering från företaget.")
    return _("Det går inte att göra så när ärendet har status ”%(status)s”.") % {
        "status": S(status).label
    }


def next_status(case: Case, action: str) -> str:
    """The status `action` leads to from the case's status, or ValidationError."""
    allowed = TRANSITIONS[action]
    if case.status not in allowed:
        raise ValidationError(_refusal(action, case.status))
    return allowed[case.status]


def _move_status(case: Case, action: str) -> None:
    """Save the status `action` leads to, when it differs from the case's."""
    status = next_status(case, action)
    if status != case.status:
        case.status = status
        case.save(update_fields=["status", "updated_at"])


def allowed_actions(case: Case) -> set[str]:
    """The actions the status table allows now (permissions are checked separately)."""
    return {action for action, table in TRANSITIONS.items() if case.status in table}


def _lock(case_id: int) -> Case:
    # Lock the case row alone: a join here would lock the unit's row too (serialising all of
    # its cases) and, on PostgreSQL, a case whose unit changed while we waited would no
    # longer match the join and vanish from the result.
    return Case.objects.select_for_update().get(pk=case_id)


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _required(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _is_member(user, department_id: int) -> bool:
    return Membership.objects.filter(user=user, department_id=department_id).exists()


def _notify_followers(case: Case, *, kind: str, template: str, context: dict) -> None:
    for follower in case.followers.filter(revoked_at__isnull=True):
        email_queue(
            kind=kind,
            to=follower.email,
            template=template,
            context={"case": case, "follower": follower, **context},
            case=case,
        )


def _notify_staff(
    case: Case,
    *,
    kind: str,
    template: str,
    users=(),
    department=None,
    always_department=False,
    **extra,
):
    """E-mail the given users; the department's mailbox too when asked to, or when none of
    the users has an address."""
    sent = set()
    for user in users:
        if user is not None and user.email and user.email not in sent:
            sent.add(user.email)
            email_queue(
                kind=kind,
                to=user.email,
                template=template,
                context={"case": case, "recipient": user, **extra},
                case=case,
            )
    wanted = always_department or not sent
    if wanted and department is not None and department.email and department.email not in sent:
        email_queue(
            kind=kind,
            to=department.email,
            template=template,
            context={"case": case, "recipient": None, **extra},
            case=case,
        )


def _set_owner_row(case: Case) -> None:
    CaseDepartment.objects.filter(
        case=case, department_id=case.owning_department_id, role=CaseDepartment.Role.OWNER
    ).update(officer=case.owner)
