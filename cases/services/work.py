"""What officers do to a case: one function per transition.

Every function is transactional, locks the case row (`select_for_update`), checks permissions
through `cases.permissions`, consults `TRANSITIONS` (the one table of allowed status changes),
records a CaseEvent and queues e-mail through the outbox (sent after commit).

Illegal transitions raise `ValidationError` with a Swedish message and change nothing; actions
outside one's role raise `PermissionDenied`.
"""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import signals
from cases.models import (
    Case,
    CaseArea,
    CaseDepartment,
    CaseEvent,
    CaseOwnershipPeriod,
    Message,
    Transfer,
)
from cases.owners import propose_owner
from cases.permissions import (
    can_act_on_case,
    can_assign_in,
    ensure_can_act,
    is_coordinator,
    unit_ids,
)
from cases.services.attachments import attachments_store
from cases.services.events import record_event
from departments.models import Department, Membership, ResponsibilityArea
from outbox.services import email_queue

User = get_user_model()

S = Case.Status
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


# --- Transfers -----------------------------------------------------------------------------


@transaction.atomic
def case_transfer_offer(*, case_id: int, actor, to_department: Department, reason: str) -> Transfer:
    """Offer the case to another unit. The sender stays helhetsansvarig until it accepts."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    next_status(case, "transfer_offer")
    reason = _required(reason, "reason", _("Skriv varför ärendet ska lämnas över."))
    if to_department.pk == case.owning_department_id:
        raise ValidationError({"to_department": _("Ärendet ägs redan av den enheten.")})
    if not to_department.is_active:
        raise ValidationError({"to_department": _("Enheten är inte aktiv.")})
    if case.transfers.filter(status=Transfer.Status.PENDING).exists():
        raise ValidationError(
            _("Ärendet har redan en överlämning som väntar på svar. Vänta på svaret först.")
        )
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                case=case,
                from_department_id=case.owning_department_id,
                to_department=to_department,
                offered_by=actor,
                reason=reason,
            )
    except IntegrityError:
        raise ValidationError(_("Ärendet har redan en överlämning som väntar på svar."))
    _move_status(case, "transfer_offer")
    record_event(
        case,
        CaseEvent.Kind.TRANSFER_OFFERED,
        actor=actor,
        data={
            "transfer_id": transfer.pk,
            "from": case.owning_department.name,
            "to": to_department.name,
            "to_id": to_department.pk,
            "reason": reason,
        },
    )
    leads = [m.user for m in to_department.memberships.filter(role="lead").select_related("user")]
    _notify_staff(
        case,
        kind="transfer_offered",
        template="emails/staff_transfer_offered",
        users=leads,
        department=to_department,
        always_department=True,
        transfer=transfer,
    )
    return transfer


def _lock_pending_transfer(transfer_id: int) -> tuple[Transfer, Case]:
    transfer = Transfer.objects.get(pk=transfer_id)
    case = _lock(transfer.case_id)
    transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
    if transfer.status != Transfer.Status.PENDING:
        raise ValidationError(
            _("Överlämningen är redan besvarad (%(status)s).")
            % {"status": transfer.get_status_display().lower()}
        )
    return transfer, case


def _ensure_receiving(actor, transfer: Transfer) -> None:
    if not (is_coordinator(actor) or transfer.to_department_id in unit_ids(actor)):
        raise PermissionDenied(_("Bara den mottagande enheten kan svara på överlämningen."))


@transaction.atomic
def case_transfer_accept(*, transfer_id: int, actor, new_owner=None) -> Case:
    """The receiving unit accepts: one of its officers becomes helhetsansvarig, the case's
    time with the old unit ends, and the company is told who owns its case now."""
    transfer, case = _lock_pending_transfer(transfer_id)
    _ensure_receiving(actor, transfer)
    next_status(case, "transfer_accept")
    to_department = transfer.to_department
    if new_owner is None:
        if _is_member(actor, to_department.pk):
            new_owner = actor
        else:
            new_owner = propose_owner(to_department, case.company)
        if new_owner is None:
            raise ValidationError(
                {
                    "new_owner": _("Välj vem på %(unit)s som blir helhetsansvarig.")
                    % {"unit": to_department.name}
                }
            )
    else:
        if new_owner.pk != actor.pk and not can_assign_in(actor, to_department.pk):
            raise PermissionDenied(_("Bara enhetschefen kan utse någon annan som helhetsansvarig."))
        if not _is_member(new_owner, to_department.pk):
            raise ValidationError(
                {
                    "new_owner": _("Personen är inte handläggare på %(unit)s.")
                    % {"unit": to_department.name}
                }
            )
    now = timezone.now()
    from_department = case.owning_department
    previous_owner = case.owner

    transfer.status = Transfer.Status.ACCEPTED
    transfer.decided_at = now
    transfer.decided_by = actor
    transfer.save(update_fields=["status", "decided_at", "decided_by"])

    # The old owner row becomes a contributor (they keep sight of the case); the receiving
    # unit's row, if it was a contributor, becomes the owner row.
    CaseDepartment.objects.filter(case=case, role=CaseDepartment.Role.OWNER).update(
        role=CaseDepartment.Role.CONTRIBUTOR
    )
    updated = CaseDepartment.objects.filter(case=case, department=to_department).update(
        role=CaseDepartment.Role.OWNER, officer=new_owner
    )
    if not updated:
        CaseDepartment.objects.create(
            case=case, department=to_department, role=CaseDepartment.Role.OWNER, officer=new_owner
        )
    CaseOwnershipPeriod.objects.filter(case=case, ended_at__isnull=True).update(ended_at=now)
    CaseOwnershipPeriod.objects.create(case=case, department=to_department, started_at=now)

    case.owning_department = to_department
    case.owner = new_owner
    case.transfer_count += 1
    case.needs_triage = False
    case.save(
        update_fields=["owning_department", "owner", "transfer_count", "needs_triage", "updated_at"]
    )
    record_event(
        case,
        CaseEvent.Kind.TRANSFER_ACCEPTED,
        actor=actor,
        public=True,
        data={
            "transfer_id": transfer.pk,
            "from": from_department.name,
            "department": to_department.name,
            "department_id": to_department.pk,
            "owner": _name(new_owner),
            "owner_id": new_owner.pk,
            "previous_owner": _name(previous_owner),
        },
    )
    _notify_followers(
        case, kind="owner_changed", template="emails/company_owner_changed", context={}
    )
    _notify_staff(case, kind="case_assigned", template="emails/case_assigned", users=[new_owner])
    _notify_staff(
        case,
        kind="transfer_decided",
        template="emails/staff_transfer_decided",
        users=[transfer.offered_by],
        transfer=transfer,
    )
    return case


@transaction.atomic
def case_transfer_decline(
    *, transfer_id: int, actor, reason: str, suggested_department: Department | None = None
) -> Transfer:
    """The receiving unit declines with a reason and, where it can, names the owning unit.
    The case stays where it was, with the same helhetsansvarig."""
    transfer, case = _lock_pending_transfer(transfer_id)
    _ensure_receiving(actor, transfer)
    next_status(case, "transfer_decline")
    reason = _required(reason, "reason", _("Skriv varför enheten inte tar emot ärendet."))
    if suggested_department is not None and suggested_department.pk == transfer.to_department_id:
        raise ValidationError({"suggested_department": _("Föreslå en annan enhet än den egna.")})
    transfer.status = Transfer.Status.DECLINED
    transfer.decided_at = timezone.now()
    transfer.decided_by = actor
    transfer.decline_reason = reason
    transfer.suggested_department = suggested_department
    transfer.save(
        update_fields=[
            "status",
            "decided_at",
            "decided_by",
            "decline_reason",
            "suggested_department",
        ]
    )
    record_event(
        case,
        CaseEvent.Kind.TRANSFER_DECLINED,
        actor=actor,
        data={
            "transfer_id": transfer.pk,
            "department": transfer.to_department.name,
            "reason": reason,
            "suggested": suggested_department.name if suggested_department else "",
            "suggested_id": suggested_department.pk if suggested_department else None,
        },
    )
    _notify_staff(
        case,
        kind="transfer_decided",
        template="emails/staff_transfer_decided",
        users=[transfer.offered_by, case.owner],
        department=case.owning_department,
        transfer=transfer,
    )
    return transfer


# --- Areas ---------------------------------------------------------------------------------


@transaction.atomic
def case_change_areas(*, case_id: int, actor, primary: ResponsibilityArea, others=()) -> Case:
    """Correct the case's areas (primary first). The old and new areas are recorded: this is
    what the router learns from. Units owning a new area are added so they see the case."""
    case = _lock(case_id)
    ensure_can_act(actor, case)
    next_status(case, "change_areas")
    new_areas = [primary] + [area for area in others if area.pk != primary.pk]
    old_rows = list(CaseArea.objects.filter(case=case).select_related("area").order_by("position"))
    old = [row.area.slug for row in old_rows]
    new = [area.slug for area in new_areas]
    if old == new:
        raise ValidationError(_("Områdena är desamma som förut; inget ändrades."))
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
