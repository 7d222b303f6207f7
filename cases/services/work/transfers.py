"""Offering a case to another unit, and that unit accepting or declining."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    Case,
    CaseDepartment,
    CaseEvent,
    CaseOwnershipPeriod,
    Transfer,
)
from cases.owners import propose_owner
from cases.permissions import (
    can_assign_in,
    ensure_can_act,
    is_coordinator,
    unit_ids,
)
from cases.services.events import record_event
from cases.services.work._shared import (
    _is_member,
    _lock,
    _move_status,
    _name,
    _notify_followers,
    _notify_staff,
    _required,
    next_status,
)
from departments.models import Department

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
