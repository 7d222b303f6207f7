"""The built-in sources: reminders and escalations about cases, the company's silence,
contributions and transfers."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db.models import (
    DateField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Coalesce

from cases import deadlines
from cases.models import (
    Case,
    CaseDepartment,
    CaseFollower,
    ReminderMark,
    Transfer,
)
from followup.reminders import store
from followup.reminders.protocol import (
    Candidate,
    SweepContext,
    SweepReport,
    _sources,
    register_source,
)

# --- The built-in sources ---------------------------------------------------------------------


def _to(case_id, recipients, kind, key, due=None, escalation=False, **context):
    for user_id, email in recipients:
        yield Candidate(
            kind=kind,
            subject_key=key,
            recipient_email=email,
            recipient_id=user_id,
            template=f"emails/reminder_{kind}",
            case_id=case_id,
            due_on=due,
            escalation=escalation,
            context=context,
        )


def _case_reminders(ctx: SweepContext) -> Iterable[Candidate]:
    """Deadlines of open cases: first answer, resolution, waiting, unowned: one query."""
    n = ctx.escalate_after_days
    soon = ctx.next_working_day
    overdue = ctx.overdue_cutoff(1)
    wait_days = ctx.company_reminder_days
    waiting_cutoff = ctx.end_of_day(ctx.overdue_cutoff(wait_days * 2))
    unowned_before = ctx.end_of_day(overdue)
    rows = (
        Case.objects.open()
        .filter(
            Q(first_answered_at__isnull=True, first_answer_due__lte=soon)
            | (~Q(status=Case.Status.WAITING_FOR_COMPANY) & Q(due_at__lte=soon))
            | Q(status=Case.Status.WAITING_FOR_COMPANY, waiting_since__lt=waiting_cutoff)
            | Q(owner__isnull=True, received_at__lt=unowned_before)
        )
        .exclude(
            # handled before in the same state, on the same day, for the same recipients
            Exists(_marks(ctx))
        )
        .order_by("pk")
        .values_list(
            "pk",
            "status",
            "owner_id",
            "owner__email",
            "owning_department_id",
            "first_answer_due",
            "first_answered_at",
            "due_at",
            "waiting_since",
            "received_at",
        )
    )
    handled = ctx.handled
    waiting_status = Case.Status.WAITING_FOR_COMPANY.value
    # Streamed (a server-side cursor on PostgreSQL): a backlog is never held at once.
    for row in rows.iterator(chunk_size=2000):
        (
            pk,
            status,
            owner_id,
            owner_email,
            department_id,
            first_due,
            first_answered_at,
            due,
            waiting_since,
            received_at,
        ) = row
        handled[pk] = _mark_values(row)
        owners = ctx.owner_recipients(owner_id, owner_email, department_id)
        waiting = status == waiting_status

        to = partial(_to, pk)

        if first_due and first_answered_at is None and not waiting:
            key = f"case:{pk}:first_answer:{first_due}"
            if first_due <= overdue:
                yield from to(owners, "first_answer_overdue", key, first_due)
            elif first_due >= ctx.today and first_due <= soon:
                yield from to(owners, "first_answer_soon", key, first_due)

        if due and not waiting:
            key = f"case:{pk}:due:{due}"
            if due <= overdue:
                late = deadlines.working_days_between(due, ctx.today)
                yield from to(owners, "overdue", key, due, days=late)
                if late >= 1 + n:
                    leads = ctx.unit_leads(department_id)
                    yield from to(leads, "escalate_lead", key, due, True, days=late)
                if late >= 1 + 2 * n:
                    yield from to(
                        ctx.coordinators(), "escalate_coordinator", key, due, True, days=late
                    )
            elif due >= ctx.today and due <= soon:
                yield from to(owners, "due_soon", key, due)

        if waiting and waiting_since is not None:
            waited = ctx.working_days_since(waiting_since)
            if waited >= 2 * wait_days:
                key = f"case:{pk}:waiting:{waiting_since.isoformat()}"
                yield from to(owners, "waiting_owner", key, days=waited)

        if owner_id is None and received_at < unowned_before:
            leads = ctx.unit_leads(department_id)
            yield from to(leads, "unowned", f"case:{pk}:unowned", None, True)


def _marks(ctx: SweepContext):
    """The mark of the outer case, taken in its present state under this sweep's context."""
    no_date, no_time = ReminderMark.NO_DATE, ReminderMark.NO_TIME

    def either(name, empty, field):
        return Coalesce(OuterRef(name), Value(empty), output_field=field)

    return ReminderMark.objects.filter(
        case=OuterRef("pk"),
        context=ctx.mark_context,
        status=OuterRef("status"),
        owner_key=either("owner_id", 0, IntegerField()),
        department_key=either("owning_department_id", 0, IntegerField()),
        first_answer_due=either("first_answer_due", no_date, DateField()),
        due_at=either("due_at", no_date, DateField()),
        first_answered_at=either("first_answered_at", no_time, DateTimeField()),
        waiting_since=either("waiting_since", no_time, DateTimeField()),
        received_at=OuterRef("received_at"),
    )


_NO_DATE, _NO_TIME = ReminderMark.NO_DATE, ReminderMark.NO_TIME


def _mark_values(row: tuple) -> tuple:
    """The MARK_COLUMNS values of a case row (as _case_reminders reads it)."""
    _pk, status, owner, _email, unit, first_due, first_answered, due, waiting, received = row
    return (
        status,
        owner or 0,
        unit or 0,
        first_due or _NO_DATE,
        due or _NO_DATE,
        first_answered or _NO_TIME,
        waiting or _NO_TIME,
        received,
    )


def flush_marks(ctx: SweepContext) -> None:
    """After each chunk of a delivery: put the cases derived so far aside as handled (see
    remember_handled) and let go of them."""
    if not ctx.handled:
        return
    store.stage_marks(ctx.handled, ctx.staged_marks, first=not ctx.derived_ids)
    ctx.derived_ids.extend(ctx.handled)
    ctx.handled.clear()


def remember_handled(ctx: SweepContext, report: SweepReport) -> None:
    """At the end of a delivery's transaction: mark the cases this sweep derived as handled,
    and carry the marks of the cases it skipped over to the Reminder rows it has just added
    (the context digest counts them)."""
    if "mark_context" not in ctx.__dict__:
        return  # the case source did not run
    flush_marks(ctx)
    before = ctx.mark_context
    after = ctx.current_mark_context() if report.total else before
    if after != before:
        ReminderMark.objects.filter(context=before).update(context=after)
    store.save_marks(after, ctx.staged_marks, any_staged=bool(ctx.derived_ids))


def _company_reminders(ctx: SweepContext) -> Iterable[Candidate]:
    """The company has not answered a request for more information: its followers."""
    cutoff = ctx.end_of_day(ctx.overdue_cutoff(ctx.company_reminder_days))
    rows = (
        CaseFollower.objects.filter(
            revoked_at__isnull=True,
            case__status=Case.Status.WAITING_FOR_COMPANY,
            case__waiting_since__lt=cutoff,
        )
        .exclude(email="")
        .order_by("case_id", "pk")
        .values("pk", "case_id", "name", "email", "token", "case__waiting_since")
    )
    for row in rows:
        yield Candidate(
            kind="company_waiting",
            subject_key=f"case:{row['case_id']}:waiting:{row['case__waiting_since'].isoformat()}",
            recipient_email=row["email"],
            template="emails/reminder_company_waiting",
            case_id=row["case_id"],
            context={"follower_name": row["name"], "token": row["token"], "follower_id": row["pk"]},
        )


def _contribution_reminders(ctx: SweepContext) -> Iterable[Candidate]:
    """Contribution requests due soon (to the contributor) or late (to the owner)."""
    soon = ctx.next_working_day
    overdue = ctx.overdue_cutoff(1)
    rows = (
        CaseDepartment.objects.filter(requested_at__isnull=False, done_at__isnull=True)
        .exclude(case__status=Case.Status.CLOSED)
        .filter(Q(due_on__lte=soon) | Q(due_on__gt=F("case__due_at"), case__due_at__lte=soon))
        .order_by("case_id", "pk")
        .values(
            "pk",
            "case_id",
            "due_on",
            "officer_id",
            "officer__email",
            "department_id",
            "department__name",
            "case__due_at",
            "case__owner_id",
            "case__owner__email",
            "case__owning_department_id",
        )
    )
    for row in rows:
        pk, due = row["pk"], row["due_on"]
        if due is None:
            continue
        context = {"unit_name": row["department__name"], "part_id": pk}
        if ctx.today <= due <= soon:
            if row["officer_id"] and row["officer__email"]:
                recipients = [(row["officer_id"], row["officer__email"])]
            else:
                email = ctx.unit_email(row["department_id"])
                recipients = [(None, email)] if email else ctx.unit_leads(row["department_id"])
            for user_id, email in recipients:
                yield Candidate(
                    kind="contribution_due",
                    subject_key=f"part:{pk}:{due}",
                    recipient_email=email,
                    recipient_id=user_id,
                    template="emails/reminder_contribution_due",
                    case_id=row["case_id"],
                    due_on=due,
                    context=context,
                )
        case_due = row["case__due_at"]
        after_case = case_due is not None and due > case_due and case_due <= soon
        if due <= overdue or after_case:
            owners = ctx.owner_recipients(
                row["case__owner_id"], row["case__owner__email"], row["case__owning_department_id"]
            )
            for user_id, email in owners:
                yield Candidate(
                    kind="contribution_late",
                    subject_key=f"part:{pk}:{due}",
                    recipient_email=email,
                    recipient_id=user_id,
                    template="emails/reminder_contribution_late",
                    case_id=row["case_id"],
                    due_on=due,
                    context={**context, "after_case_due": after_case and due > ctx.today},
                )


def _transfer_reminders(ctx: SweepContext) -> Iterable[Candidate]:
    """A transfer offered more than one working day ago and still undecided."""
    cutoff = ctx.end_of_day(ctx.overdue_cutoff(1))
    rows = (
        Transfer.objects.filter(status=Transfer.Status.PENDING, created_at__lt=cutoff)
        .order_by("case_id", "pk")
        .values("pk", "case_id", "from_department__name", "to_department__name", "created_at")
    )
    coordinators = None
    for row in rows:
        if coordinators is None:
            coordinators = ctx.coordinators()
        for user_id, email in coordinators:
            yield Candidate(
                kind="transfer_pending",
                subject_key=f"transfer:{row['pk']}",
                recipient_email=email,
                recipient_id=user_id,
                template="emails/reminder_transfer_pending",
                case_id=row["case_id"],
                escalation=True,
                context={
                    "from_unit": row["from_department__name"],
                    "to_unit": row["to_department__name"],
                    "offered_at": row["created_at"],
                },
            )


for _builtin in (
    _case_reminders,
    _company_reminders,
    _contribution_reminders,
    _transfer_reminders,
):
    register_source(_builtin)
_BUILTIN = frozenset(_sources)
