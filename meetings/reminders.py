"""Action items from lots meetings, followed up by the reminder sweep like cases.

`action_item_candidates(ctx)` is a source for `followup.reminders` (registered from
MeetingsConfig.ready()): one query finds the open action items due soon or overdue, and the
sweep records one Reminder row per (kind, item and due date, recipient), so each reminder is
sent once however often the sweep runs.

- the working day before the due date (or on it): a reminder to the owner;
- once overdue: a reminder to the owner;
- escalate_after_days working days later: the unit's lead(s) are told.
"""

from collections.abc import Iterable
from functools import partial

from django.urls import reverse

from cases import deadlines
from meetings.models import ActionItem

DUE_SOON = "action_item_due"
OVERDUE = "action_item_overdue"
ESCALATED = "action_item_escalated"
TEMPLATE = "emails/meeting_action_reminder"


def _candidate(
    kind, user_id, email, escalation=False, *, subject_key, case_id, due_on, context, **extra
):
    from followup.reminders import Candidate

    return Candidate(
        kind=kind,
        subject_key=subject_key,
        recipient_email=email,
        recipient_id=user_id,
        template=TEMPLATE,
        case_id=case_id,
        due_on=due_on,
        escalation=escalation,
        context={**context, "reminder": kind, **extra},
    )


def action_item_candidates(ctx) -> Iterable:
    """Reminder candidates for open action items (one query)."""
    soon = ctx.next_working_day
    overdue = ctx.overdue_cutoff(1)
    n = ctx.escalate_after_days
    rows = (
        ActionItem.objects.open()
        .filter(due_on__lte=soon, owner__is_active=True)
        .values(
            "pk",
            "title",
            "due_on",
            "case_id",
            "meeting_id",
            "meeting__title",
            "department_id",
            "department__name",
            "owner_id",
            "owner__email",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        due = row["due_on"]
        key = f"action_item:{row['pk']}:due:{due.isoformat()}"
        owner_name = (
            f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            or row["owner__username"]
        )
        context = {
            "item_title": row["title"],
            "item_url": reverse("meetings:detail", args=[row["meeting_id"]])
            + f"#action-{row['pk']}",
            "meeting_title": row["meeting__title"],
            "unit_name": row["department__name"],
            "owner_name": owner_name,
        }

        candidate = partial(
            _candidate, subject_key=key, case_id=row["case_id"], due_on=due, context=context
        )
        if due <= overdue:
            late = deadlines.working_days_between(due, ctx.today)
            if row["owner__email"]:
                yield candidate(OVERDUE, row["owner_id"], row["owner__email"], days=late)
            if late >= 1 + n:
                for user_id, email in ctx.unit_leads(row["department_id"]):
                    if email != row["owner__email"]:
                        yield candidate(ESCALATED, user_id, email, True, days=late)
        elif due >= ctx.today and row["owner__email"]:
            yield candidate(DUE_SOON, row["owner_id"], row["owner__email"])
