"""Changing a case's deadline: the owner extends it with a reason the company sees."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.deadlines import is_working_day, readable_date
from cases.models import Case, CaseEvent
from cases.permissions import ensure_can_act
from cases.services.events import record_event

REASON_MAX_LENGTH = 1000


@transaction.atomic
def case_extend_deadline(*, case_id: int, actor, new_due: dt.date, reason: str) -> Case:
    """Move the resolution deadline (due_at) later. The reason is required and shown to the
    company on its tracking page with the new date (a public DEADLINE_EXTENDED event).
    Reminders already sent for the old date do not block reminders for the new one."""
    case = Case.objects.select_for_update().get(pk=case_id)
    ensure_can_act(actor, case)
    if case.status == Case.Status.CLOSED:
        raise ValidationError(_("Ärendet är avslutat. Återöppna det först."))
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Skriv varför tidsgränsen ändras. Företaget ser skälet.")
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = _("Skälet får vara högst %(n)d tecken.") % {"n": REASON_MAX_LENGTH}
    if new_due is None:
        errors["new_due"] = _("Ange det nya datumet.")
    elif new_due <= timezone.localdate():
        errors["new_due"] = _("Det nya datumet måste vara efter i dag.")
    elif case.due_at and new_due <= case.due_at:
        errors["new_due"] = _(
            "Det nya datumet måste vara senare än nuvarande tidsgräns, %(date)s."
        ) % {"date": readable_date(case.due_at)}
    elif not is_working_day(new_due):
        errors["new_due"] = _("Välj en arbetsdag (inte helg eller helgdag).")
    if errors:
        raise ValidationError(errors)
    old_due = case.due_at
    case.due_at = new_due
    case.deadline_note = reason
    case.save(update_fields=["due_at", "deadline_note", "updated_at"])
    record_event(
        case,
        CaseEvent.Kind.DEADLINE_EXTENDED,
        actor=actor,
        public=True,
        data={
            "new_due": new_due.isoformat(),
            "old_due": old_due.isoformat() if old_due else None,
            "reason": reason,
        },
    )
    return case
