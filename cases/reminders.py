"""The reminder sweep: deadlines chased by the portal itself.

`reminder_sweep(now=None)` is run by Celery beat (`cases.tasks.reminder_sweep_task`, every 15
minutes) and by `python manage.py sweep_reminders`. On a working day it

- reminds the helhetsansvarig one working day before the first-answer and the resolution
  deadline, and the contributing officer (or the unit's mailbox while nobody has taken the
  request) before a contribution is due;
- tells the owner when a contribution is late, or will come in after the case's own deadline,
  before the case itself goes overdue;
- on an overdue case notifies the owner, after REMINDER_ESCALATE_AFTER_DAYS more working days
  the unit lead, after as many again the lots coordinator(s) (users with the permission
  `cases.manage_all_cases`); an unowned case older than one working day goes to the unit lead
  at once;
- reminds the company (its followers) when the case has waited for its answer for
  COMPANY_REMINDER_DAYS working days and tells the owner at twice that;
- alerts the coordinator(s) about a transfer neither accepted nor declined within one
  working day.

Every day it also sends e-mails still pending in the outbox (the broker was down when they
were queued), so a receipt is never lost.

`morning_digest(now=None)` sends each officer one mail on working days: their cases due today,
overdue, and waiting for the company.

How a reminder is sent exactly once
-----------------------------------
Each reminder is a `Reminder` row, unique on (kind, subject_key, recipient_email). A sweep
builds all candidates with a few set-based queries, inserts them in one
`INSERT ... ON CONFLICT DO NOTHING` (bulk_create with ignore_conflicts) stamped with its own
sweep id, and then sends only the rows that carry that id. A second sweep, or one running at
the same moment in another worker, inserts nothing and sends nothing. The subject keys contain
the due date, so a deadline that is moved gets fresh reminders. The number of queries does not
grow with the number of open cases, only with the reminders actually sent.

Adding reminders from another app
---------------------------------
Another app adds a source of reminders, typically from its AppConfig.ready()::

    from cases.reminders import Candidate, register_source

    def action_item_reminders(ctx):            # ctx: SweepContext
        for item in ActionItem.objects.filter(done_at__isnull=True,
                                              due_on__lte=ctx.next_working_day):
            yield Candidate(
                kind="action_item_due",                   # Reminder.kind, max 48 chars
                subject_key=f"action_item:{item.pk}:{item.due_on}",  # max 120 chars
                recipient_email=item.owner.email,
                recipient_id=item.owner_id,
                template="emails/reminder_action_item_due",   # _subject.txt and .txt
                case_id=item.case_id,                       # or None
                due_on=item.due_on,
                context={"item_title": item.title},         # plain values for the template
            )

    register_source(action_item_reminders)

A source is called once per sweep on working days, with a `SweepContext` (now, today,
next_working_day, overdue_cutoff(days), end_of_day(date), escalate_after_days,
company_reminder_days, coordinators(), unit_leads(department_id), unit_email(department_id)).
It must find its work with a constant number of queries and return an iterable of
`Candidate`s; the sweep de-duplicates them, records the Reminder rows, queues the e-mails after
commit and records a CaseEvent (REMINDER_SENT, or ESCALATED with escalation=True) on the case
when there is one. A plug-in candidate's mail is rendered from `<template>_subject.txt` and
`<template>.txt` with `base_url`, `recipient` (the User, when recipient_id is set), `due_on`,
`case` (when case_id is set: a dict with reference, subject, status, received_at,
first_answer_due, due_at, waiting_since, owning_department.name and owner or None) and the
candidate's `context`. register_source is idempotent. (A source written as `f(now=None)` that
sends on its own and returns the number sent is also accepted and counted in the report.)

The built-in staff reminders to one address in one sweep go out as one e-mail listing them
(templates/emails/reminders.txt, one section per kind from reminder_<kind>.txt); the company
gets one mail per case and follower (reminder_company_waiting.txt).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import logging
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Coalesce
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import deadlines
from cases.models import (
    Case,
    CaseDepartment,
    CaseEvent,
    CaseFollower,
    Reminder,
    ReminderMark,
    Transfer,
)
from departments.models import Department, Membership
from outbox.models import OutgoingEmail
from outbox.replies import reply_address
from outbox.services import clean_body, clean_header, email_flush_pending, publish_or_leave

logger = logging.getLogger(__name__)

# E-mail ids handed to one fan-out task (which queues one retrying send task per mail).
EMAIL_BATCH_SIZE = 200


# --- Settings ---------------------------------------------------------------------------------


def escalate_after_days() -> int:
    return settings.REMINDER_ESCALATE_AFTER_DAYS


def company_reminder_days() -> int:
    return settings.COMPANY_REMINDER_DAYS


# --- The plug-in interface --------------------------------------------------------------------


@dataclass(slots=True)
class Candidate:
    """A reminder a source wants sent; sent only if no Reminder row with the same kind,
    subject_key and recipient_email exists. (Slots: a catch-up holds 100 000 of them.)"""

    kind: str
    subject_key: str
    recipient_email: str
    template: str
    case_id: int | None = None
    recipient_id: int | None = None
    due_on: dt.date | None = None
    escalation: bool = False
    context: dict = field(default_factory=dict)
    key: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self.template = sys.intern(self.template)
        self.key = (
            sys.intern(self.kind),
            self.subject_key[:120],
            sys.intern(self.recipient_email.strip().lower()),
        )


class SweepContext:
    """What a source needs to know about this sweep; look-ups are loaded once, on demand."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.today = timezone.localdate(now)
        self.is_working_day = deadlines.is_working_day(self.today)
        self.next_working_day = deadlines.next_working_day(self.today)
        self.escalate_after_days = escalate_after_days()
        self.company_reminder_days = company_reminder_days()

    @cached_property
    def handled(self) -> dict[int, str]:
        """Cases whose reminders this sweep derived: id -> state (see ReminderMark)."""
        return {}

    @cached_property
    def mark_context(self) -> str:
        """What a case's mark is valid under, as of the start of this sweep."""
        return self.current_mark_context()

    def current_mark_context(self) -> str:
        """The day, the settings, the recipients and the Reminder rows (a deleted or reset
        reminder invalidates every mark): a digest."""
        stats = Reminder.objects.aggregate(n=Count("pk"), last=Max("pk"))
        directory = [
            (pk, unit["email"], sorted(unit["leads"].items()))
            for pk, unit in sorted(self._departments.items())
        ]
        raw = json.dumps(
            [
                self.today.isoformat(),
                self.escalate_after_days,
                self.company_reminder_days,
                stats["n"],
                stats["last"],
                directory,
                self._coordinators,
                # an owner's address (the case rows are compared without it)
                list(get_user_model().objects.order_by("pk").values_list("pk", "email")),
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:64]

    def overdue_cutoff(self, days: int) -> dt.date:
        """Dates on or before this lie at least `days` working days before today."""
        return deadlines.overdue_cutoff(self.today, days)

    @staticmethod
    def end_of_day(day: dt.date) -> dt.datetime:
        """The first moment after `day` (local time): `moment < end_of_day(d)` means the
        moment fell on d or earlier."""
        return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))

    def working_days_since(self, moment) -> int:
        return deadlines.working_days_between(moment, self.today)

    @cached_property
    def _departments(self) -> dict[int, dict]:
        units = {
            row["pk"]: {"email": row["email"], "leads": {}}
            for row in Department.objects.values("pk", "email")
        }
        for row in Membership.objects.filter(
            role=Membership.Role.LEAD, user__is_active=True
        ).values("department_id", "user_id", "user__email"):
            if row["user__email"] and row["department_id"] in units:
                units[row["department_id"]]["leads"][row["user_id"]] = row["user__email"]
        return units

    def unit_email(self, department_id: int) -> str:
        return self._departments.get(department_id, {}).get("email") or ""

    def unit_leads(self, department_id: int) -> list[tuple[int | None, str]]:
        """(user id, e-mail) of the unit's lead(s); the unit's mailbox if it has none."""
        unit = self._departments.get(department_id)
        if unit is None:
            return []
        if unit["leads"]:
            return sorted(unit["leads"].items())
        return [(None, unit["email"])] if unit["email"] else []

    @cached_property
    def _coordinators(self) -> list[tuple[int, str]]:
        users = (
            get_user_model()
            .objects.with_perm(
                "cases.manage_all_cases",
                include_superusers=False,
                backend="django.contrib.auth.backends.ModelBackend",
            )
            .filter(is_active=True)
            .exclude(email="")
            .values_list("pk", "email")
        )
        return sorted(users)

    def coordinators(self) -> list[tuple[int, str]]:
        """(user id, e-mail) of every lots coordinator."""
        if not self._coordinators:
            logger.warning("No lots coordinator with an e-mail address: escalation not sent")
        return self._coordinators

    def owner_recipients(self, owner_id, owner_email, department_id) -> list[tuple]:
        """The helhetsansvarig; while there is none, the unit's mailbox (or its lead)."""
        if owner_id and owner_email:
            return [(owner_id, owner_email)]
        email = self.unit_email(department_id)
        return [(None, email)] if email else self.unit_leads(department_id)


Source = Callable[[SweepContext], Iterable[Candidate]]
_sources: list[Source] = []


def register_source(source: Source) -> Source:
    """Add a source of reminders to every sweep (idempotent; usable as a decorator)."""
    if source not in _sources:
        _sources.append(source)
    return source


@dataclass
class SweepReport:
    sent: Counter = field(default_factory=Counter)
    candidates: int = 0
    flushed_emails: int = 0
    skipped_day_off: bool = False

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def lines(self) -> list[str]:
        return [f"{kind}: {count}" for kind, count in sorted(self.sent.items())]


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
    rows = (
        Case.objects.open()
        .filter(
            Q(first_answered_at__isnull=True, first_answer_due__lte=soon)
            | (~Q(status=Case.Status.WAITING_FOR_COMPANY) & Q(due_at__lte=soon))
            | Q(status=Case.Status.WAITING_FOR_COMPANY, waiting_since__lt=waiting_cutoff)
            | Q(owner__isnull=True, received_at__lt=ctx.end_of_day(overdue))
        )
        .exclude(
            # handled before in the same state, on the same day, for the same recipients
            Exists(_marks(ctx))
        )
        .values(
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
    for row in rows:
        pk = row["pk"]
        handled[pk] = _mark_values(row)
        owners = ctx.owner_recipients(
            row["owner_id"], row["owner__email"], row["owning_department_id"]
        )
        waiting = row["status"] == Case.Status.WAITING_FOR_COMPANY

        to = partial(_to, pk)

        first_due = row["first_answer_due"]
        if first_due and row["first_answered_at"] is None and not waiting:
            key = f"case:{pk}:first_answer:{first_due}"
            if first_due <= overdue:
                yield from to(owners, "first_answer_overdue", key, first_due)
            elif first_due >= ctx.today and first_due <= soon:
                yield from to(owners, "first_answer_soon", key, first_due)

        due = row["due_at"]
        if due and not waiting:
            key = f"case:{pk}:due:{due}"
            if due <= overdue:
                late = deadlines.working_days_between(due, ctx.today)
                yield from to(owners, "overdue", key, due, days=late)
                if late >= 1 + n:
                    leads = ctx.unit_leads(row["owning_department_id"])
                    yield from to(leads, "escalate_lead", key, due, True, days=late)
                if late >= 1 + 2 * n:
                    yield from to(
                        ctx.coordinators(), "escalate_coordinator", key, due, True, days=late
                    )
            elif due >= ctx.today and due <= soon:
                yield from to(owners, "due_soon", key, due)

        if waiting and row["waiting_since"] is not None:
            waited = ctx.working_days_since(row["waiting_since"])
            if waited >= 2 * wait_days:
                key = f"case:{pk}:waiting:{row['waiting_since'].isoformat()}"
                yield from to(owners, "waiting_owner", key, days=waited)

        if row["owner_id"] is None and row["received_at"] < ctx.end_of_day(overdue):
            leads = ctx.unit_leads(row["owning_department_id"])
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


def _mark_values(row) -> tuple:
    no_date, no_time = ReminderMark.NO_DATE, ReminderMark.NO_TIME
    return (
        row["status"],
        row["owner_id"] or 0,
        row["owning_department_id"] or 0,
        row["first_answer_due"] or no_date,
        row["due_at"] or no_date,
        row["first_answered_at"] or no_time,
        row["waiting_since"] or no_time,
        row["received_at"],
    )


_MARK_COLUMNS = (
    "status",
    "owner_key",
    "department_key",
    "first_answer_due",
    "due_at",
    "first_answered_at",
    "waiting_since",
    "received_at",
)


def remember_handled(ctx: SweepContext, report: SweepReport) -> None:
    """After a delivery: mark the cases this sweep derived as handled, and carry the marks
    of the cases it skipped over to the Reminder rows it has just added."""
    if "mark_context" not in ctx.__dict__:
        return  # the case source did not run
    before = ctx.mark_context
    after = ctx.current_mark_context() if report.total else before
    # Two statements, each atomic: should the second fail, the next sweep derives again.
    if after != before:
        ReminderMark.objects.filter(context=before).update(context=after)
    if not ctx.handled:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(ReminderMark._meta.db_table)
        columns = ", ".join(_MARK_COLUMNS)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in ("context", *_MARK_COLUMNS))
        sql = (
            f"INSERT INTO {table} (case_id, context, {columns}) "  # noqa: S608
            "SELECT u.c0, %s, u.c1, u.c2, u.c3, u.c4, u.c5, u.c6, u.c7, u.c8 "
            "FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::int[], %s::date[], "
            "%s::date[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[]) "
            "AS u (c0, c1, c2, c3, c4, c5, c6, c7, c8) "
            f"ON CONFLICT (case_id) DO UPDATE SET {updates}"
        )
        values = list(zip(*ctx.handled.values(), strict=True))
        with connection.cursor() as cursor:
            cursor.execute(sql, [after, list(ctx.handled), *[list(col) for col in values]])
    else:
        ReminderMark.objects.bulk_create(
            [
                ReminderMark(
                    case_id=pk, context=after, **dict(zip(_MARK_COLUMNS, row, strict=True))
                )
                for pk, row in ctx.handled.items()
            ],
            update_conflicts=True,
            unique_fields=["case"],
            update_fields=["context", *_MARK_COLUMNS],
            batch_size=500,
        )


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
    rows = Transfer.objects.filter(status=Transfer.Status.PENDING, created_at__lt=cutoff).values(
        "pk", "case_id", "from_department__name", "to_department__name", "created_at"
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


# --- The sweep --------------------------------------------------------------------------------


def reminder_sweep(*, now: dt.datetime | None = None, flush_outbox: bool = True) -> SweepReport:
    """Send every reminder that is due and not yet sent. Safe to run at any time, twice, or
    in two workers at once."""
    now = now or timezone.now()
    report = SweepReport()
    if flush_outbox:
        report.flushed_emails = email_flush_pending()
    ctx = SweepContext(now)
    if not ctx.is_working_day:
        report.skipped_day_off = True
        return report
    candidates: list[Candidate] = []
    for source in list(_sources):
        try:
            candidates.extend(_call_source(source, ctx, report))
        except Exception:
            if source in _BUILTIN:
                raise
            logger.exception("Reminder source %r failed; the others still run", source)
    deliver(candidates, now=now, report=report)
    remember_handled(ctx, report)
    return report


def _call_source(source: Source, ctx: SweepContext, report: SweepReport) -> list[Candidate]:
    """Call a source. Besides the documented form (ctx -> candidates) a source may take
    `now=` and send on its own, returning how many it sent (counted under its name)."""
    try:
        params = inspect.signature(source).parameters
    except (TypeError, ValueError):
        params = {}
    self_sending = "now" in params and "ctx" not in params
    result = source(now=ctx.now) if self_sending else source(ctx)
    if result is None or isinstance(result, int):
        if result:
            report.sent[getattr(source, "__name__", "source")] += result
        return []
    return list(result)


def morning_digest(*, now: dt.datetime | None = None) -> SweepReport:
    """Each officer's morning mail on working days: due today, overdue, waiting. Once a day."""
    now = now or timezone.now()
    ctx = SweepContext(now)
    report = SweepReport()
    if not ctx.is_working_day:
        report.skipped_day_off = True
        return report
    rows = (
        Case.objects.open()
        .filter(owner__isnull=False, owner__is_active=True)
        .exclude(owner__email="")
        .filter(
            Q(status=Case.Status.WAITING_FOR_COMPANY)
            | Q(due_at__lte=ctx.today)
            | Q(first_answered_at__isnull=True, first_answer_due__lte=ctx.today)
        )
        .order_by("due_at", "reference")
        .values(
            "reference",
            "subject",
            "status",
            "due_at",
            "first_answer_due",
            "first_answered_at",
            "waiting_since",
            "owner_id",
            "owner__email",
            "owner__first_name",
        )
    )
    per_owner: dict[int, dict] = {}
    for row in rows:
        digest = per_owner.setdefault(
            row["owner_id"],
            {
                "email": row["owner__email"],
                "first_name": row["owner__first_name"],
                "due_today": [],
                "overdue": [],
                "waiting": [],
            },
        )
        item = {"reference": row["reference"], "subject": row["subject"]}
        if row["status"] == Case.Status.WAITING_FOR_COMPANY:
            since = row["waiting_since"]
            digest["waiting"].append(
                {**item, "days": ctx.working_days_since(since) if since else 0}
            )
            continue
        due = row["due_at"]
        first_due = row["first_answer_due"]
        if row["first_answered_at"] is None and first_due and (due is None or first_due < due):
            due = first_due
        if due is None:
            continue
        if due < ctx.today:
            days = max(1, deadlines.working_days_between(due, ctx.today))
            digest["overdue"].append({**item, "due_on": due, "days": days})
        else:
            digest["due_today"].append({**item, "due_on": due})
    candidates = [
        Candidate(
            kind="digest",
            subject_key=ctx.today.isoformat(),
            recipient_email=digest.pop("email"),
            recipient_id=owner_id,
            template="emails/digest",
            context={**digest, "today": ctx.today},
        )
        for owner_id, digest in per_owner.items()
    ]
    deliver(candidates, now=now, report=report)
    remember_handled(ctx, report)
    return report


def deliver(candidates: Iterable[Candidate], *, now=None, report: SweepReport | None = None):
    """Record the candidates not yet sent as Reminder rows and queue their e-mails after
    commit; returns the report. The heart of "exactly once"."""
    now = now or timezone.now()
    report = report or SweepReport()
    unique: dict[tuple, Candidate] = {}
    for candidate in candidates:
        if candidate.recipient_email:
            unique.setdefault(candidate.key, candidate)
    report.candidates += len(unique)
    # Skip what was sent before without building rows for it (an optimisation only: the
    # INSERT ... ON CONFLICT below is what guarantees exactly once).
    for key in _already_sent(unique):
        unique.pop(key, None)
    if not unique:
        return report
    sweep_id = uuid.uuid4()
    ordered = [unique[key] for key in sorted(unique)]  # same order in every sweep: no deadlock
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The rows are idempotent and re-derivable: should the server crash right after
            # the commit, the next sweep sends what was lost. Not waiting for the WAL flush
            # saves most of the commit time of a large sweep.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        # Optimistic: compose and store the e-mails first, so that each Reminder row is
        # inserted already pointing at its e-mail (no UPDATE of thousands of rows after).
        mails = _compose(ordered)
        email_of, email_ids = _store_emails(mails)
        _insert_reminders(ordered, sweep_id, email_of)
        mine = {
            (kind, key, email): pk
            for pk, kind, key, email in Reminder.objects.filter(sweep=sweep_id).values_list(
                "pk", "kind", "subject_key", "recipient_email"
            )
        }
        won = [c for c in ordered if c.key in mine]
        if len(won) < len(ordered):
            # Another sweep sent some of these at the same moment: drop the e-mails that
            # mention any of them and write new ones for what this sweep did send.
            spoiled = {email_of[c.key] for c in ordered if c.key not in mine}
            OutgoingEmail.objects.filter(pk__in=spoiled).delete()
            redo = [c for c in won if email_of[c.key] in spoiled]
            email_ids = [pk for pk in email_ids if pk not in spoiled]
            if redo:
                extra_of, extra_ids = _store_emails(_compose(redo))
                _link_emails([(mine[c.key], extra_of[c.key]) for c in redo])
                email_ids += extra_ids
        if not won:
            return report
        _insert_events([c for c in won if c.case_id is not None], now)
        transaction.on_commit(partial(enqueue_emails, email_ids))
    report.sent.update(c.kind for c in won)
    return report


# Rows written per statement and mails rendered at a time in a sweep: a catch-up over tens of
# thousands of cases streams through memory instead of holding every row and text at once.
SWEEP_CHUNK = 5_000
MAIL_CHUNK = 200
MAIL_CHUNK_ITEMS = 2_000


def _store_emails(mails: list[tuple[bool, list[Candidate]]]) -> tuple[dict, list[int]]:
    """Render and insert the mails a chunk at a time; keep only their ids."""
    email_of: dict[tuple, int] = {}
    ids: list[int] = []
    for chunk in _mail_chunks(mails):
        emails = OutgoingEmail.objects.bulk_create(_render_emails(chunk))
        for (_grouped, items), email in zip(chunk, emails, strict=True):
            ids.append(email.pk)
            for c in items:
                email_of[c.key] = email.pk
    return email_of, ids


def _mail_chunks(mails):
    """At most MAIL_CHUNK mails, or as many as list MAIL_CHUNK_ITEMS reminders together."""
    chunk, items = [], 0
    for mail in mails:
        chunk.append(mail)
        items += len(mail[1])
        if len(chunk) >= MAIL_CHUNK or items >= MAIL_CHUNK_ITEMS:
            yield chunk
            chunk, items = [], 0
    if chunk:
        yield chunk


def _insert_reminders(ordered: list[Candidate], sweep_id: uuid.UUID, email_of: dict) -> None:
    for start in range(0, len(ordered), SWEEP_CHUNK):
        _insert_reminder_rows(ordered[start : start + SWEEP_CHUNK], sweep_id, email_of)


def _insert_reminder_rows(ordered: list[Candidate], sweep_id: uuid.UUID, email_of: dict):
    """INSERT ... ON CONFLICT DO NOTHING, stamped with the sweep id. On PostgreSQL one
    statement over arrays (Django's bulk_create spends most of its time building rows)."""
    created = timezone.now()
    if connection.vendor != "postgresql":
        Reminder.objects.bulk_create(
            [
                Reminder(
                    kind=c.kind,
                    subject_key=c.key[1],
                    recipient_email=c.key[2],
                    case_id=c.case_id,
                    recipient_id=c.recipient_id,
                    due_on=c.due_on,
                    sweep=sweep_id,
                    email_id=email_of.get(c.key),
                )
                for c in ordered
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Reminder._meta.db_table} "  # noqa: S608 (our own table name)
            "(kind, subject_key, recipient_email, case_id, recipient_id, due_on, email_id,"
            " created_at, sweep)"
            " SELECT t.kind, t.subject_key, t.email, t.case_id, t.user_id, t.due_on, t.mail,"
            " %s, %s FROM UNNEST(%s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[],"
            " %s::bigint[], %s::date[], %s::bigint[])"
            " AS t(kind, subject_key, email, case_id, user_id, due_on, mail)"
            " ON CONFLICT DO NOTHING",
            [
                created,
                sweep_id,
                [c.kind for c in ordered],
                [c.key[1] for c in ordered],
                [c.key[2] for c in ordered],
                [c.case_id for c in ordered],
                [c.recipient_id for c in ordered],
                [c.due_on for c in ordered],
                [email_of.get(c.key) for c in ordered],
            ],
        )


def _insert_events(won: list[Candidate], now) -> None:
    """One internal REMINDER_SENT / ESCALATED event per reminder about a case."""
    for start in range(0, len(won), SWEEP_CHUNK):
        _insert_event_rows(won[start : start + SWEEP_CHUNK], now)


def _insert_event_rows(won: list[Candidate], now) -> None:
    kinds = [
        CaseEvent.Kind.ESCALATED if c.escalation else CaseEvent.Kind.REMINDER_SENT for c in won
    ]
    data = [
        {
            "reminder": c.kind,
            "to": c.key[2],
            **({"due_on": c.due_on.isoformat()} if c.due_on else {}),
        }
        for c in won
    ]
    if connection.vendor != "postgresql":
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(case_id=c.case_id, kind=k, created_at=now, is_public=False, data=d)
                for c, k, d in zip(won, kinds, data, strict=True)
            ],
            batch_size=1000,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CaseEvent._meta.db_table} "  # noqa: S608 (our own table name)
            "(case_id, kind, created_at, data, is_public)"
            " SELECT t.case_id, t.kind, %s, t.data, false"
            " FROM UNNEST(%s::bigint[], %s::varchar[], %s::jsonb[]) AS t(case_id, kind, data)",
            [now, [c.case_id for c in won], [str(k) for k in kinds], [json.dumps(d) for d in data]],
        )


def _already_sent(unique: dict[tuple, Candidate]) -> list[tuple]:
    keys = sorted({key[1] for key in unique})
    chunk = 900 if connection.vendor == "sqlite" else 50_000
    found = []
    for start in range(0, len(keys), chunk):
        rows = Reminder.objects.filter(subject_key__in=keys[start : start + chunk]).values_list(
            "kind", "subject_key", "recipient_email"
        )
        found.extend(tuple(row) for row in rows if tuple(row) in unique)
    return found


# Staff reminders of these kinds to one address in one sweep go out as one e-mail.
GROUPED_KINDS = frozenset(
    {
        "first_answer_soon",
        "first_answer_overdue",
        "due_soon",
        "overdue",
        "escalate_lead",
        "escalate_coordinator",
        "waiting_owner",
        "unowned",
        "contribution_due",
        "contribution_late",
        "transfer_pending",
    }
)


def _compose(won: list[Candidate]) -> list[tuple[bool, list[Candidate]]]:
    """The e-mails to send: (grouped?, reminders). A staff member with several reminders in
    one sweep gets one mail listing them; other reminders get a mail each."""
    groups: dict[str, list[Candidate]] = {}
    mails: list[tuple[bool, list[Candidate]]] = []
    for c in won:
        if c.kind in GROUPED_KINDS and c.template == f"emails/reminder_{c.kind}":
            groups.setdefault(c.key[2], []).append(c)
        else:
            mails.append((False, [c]))
    mails.extend((len(items) > 1, items) for items in groups.values())
    return mails


def _render_emails(mails: list[tuple[bool, list[Candidate]]]) -> list[OutgoingEmail]:
    won = [c for _grouped, items in mails for c in items]
    case_ids = {c.case_id for c in won if c.case_id is not None}
    user_ids = {c.recipient_id for c in won if c.recipient_id is not None}
    cases = _cases_for_mail(case_ids)
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    emails = []
    base = {"base_url": settings.PUBLIC_BASE_URL}
    templates: dict = {}
    staff_url = settings.PUBLIC_BASE_URL + reverse("staff:case_detail", args=["__REF__"])
    list_base = settings.PUBLIC_BASE_URL + reverse("staff:case_list")

    def render(name: str, context: dict) -> str:
        # Looked up once per sweep: the loader's look-up costs more than rendering.
        if name not in templates:
            templates[name] = get_template(name)
        return templates[name].render(context)

    with translation.override(settings.LANGUAGE_CODE):
        for grouped, items in mails:
            first = items[0]
            recipient = users.get(first.recipient_id)
            entries = []
            for c in items:
                case = cases.get(c.case_id)
                entries.append(
                    {
                        **c.context,
                        "case": case,
                        "due_on": c.due_on,
                        "detail": _detail(c, case),
                        "url": staff_url.replace("__REF__", case["reference"]) if case else "",
                    }
                )
            if grouped:
                sections: dict[str, list] = {}
                for c, entry in zip(items, entries, strict=True):
                    sections.setdefault(c.kind, []).append(entry)
                context = {
                    **base,
                    "recipient": recipient,
                    "count": len(items),
                    "sections": [
                        _section(kind, section, list_base) for kind, section in sections.items()
                    ],
                }
                subject = render("emails/reminders_subject.txt", context)
                body = render("emails/reminders.txt", context)
                kind, case_id = "reminders", None
            else:
                context = {**base, "recipient": recipient, **entries[0], "items": entries}
                subject = render(f"{first.template}_subject.txt", context)
                if first.kind in GROUPED_KINDS:
                    context["sections"] = [{"template": f"{first.template}.txt", "items": entries}]
                    body = render("emails/reminders.txt", context)
                else:
                    body = render(f"{first.template}.txt", context)
                kind = "digest" if first.kind == "digest" else f"reminder_{first.kind}"
                case_id = first.case_id
            emails.append(
                OutgoingEmail(
                    kind=kind,
                    to=first.key[2],
                    subject=clean_header(subject),
                    body=clean_body(body),
                    subject_id=case_id,
                    # A company can answer the reminder by replying (issue 18).
                    reply_to=(
                        reply_address(first.context["follower_id"])
                        if "follower_id" in first.context
                        else ""
                    ),
                )
            )
    return emails


# A section longer than this is summarised: counts per unit, the oldest cases and a link to
# the whole list (a backlog of thousands would otherwise make a mail of megabytes).
SECTION_LIST_LIMIT = 20
_LIST_FILTERS = {
    "unowned": "?status=open&unowned=on",
    "overdue": "?status=open&overdue=on",
    "first_answer_overdue": "?status=open&overdue=on",
    "escalate_lead": "?status=open&overdue=on",
    "escalate_coordinator": "?status=open&overdue=on",
}


def _section(kind: str, entries: list[dict], list_base: str) -> dict:
    """One kind of reminder in a grouped mail; summarised when the list is long."""
    section = {"template": f"emails/reminder_{kind}.txt", "items": entries, "total": len(entries)}
    if len(entries) <= SECTION_LIST_LIMIT:
        return section
    per_unit: dict[str, int] = {}
    for entry in entries:
        case = entry.get("case")
        unit = case["owning_department"]["name"] if case else "–"
        per_unit[unit] = per_unit.get(unit, 0) + 1
    oldest = sorted(
        entries,
        key=lambda e: (
            e["case"]["received_at"] if e.get("case") else dt.datetime.max.replace(tzinfo=dt.UTC)
        ),
    )[:SECTION_LIST_LIMIT]
    section.update(
        items=oldest,
        per_unit=sorted(per_unit.items(), key=lambda pair: (-pair[1], pair[0])),
        list_url=list_base + _LIST_FILTERS.get(kind, "?status=open"),
    )
    return section


def _cases_for_mail(case_ids) -> dict[int, dict]:
    """What the reminder templates show of each case, as plain dicts (one query; model
    instances would cost more than the rendering): case.reference, .subject, .status,
    .received_at, .first_answer_due, .due_at, .waiting_since, .owning_department.name and
    .owner (first_name, last_name, username, full_name) or None."""
    rows = Case.objects.filter(pk__in=case_ids).values(
        "pk",
        "reference",
        "subject",
        "status",
        "received_at",
        "first_answer_due",
        "due_at",
        "waiting_since",
        "owning_department__name",
        "owner_id",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
    )
    cases = {}
    for row in rows:
        owner = None
        if row["owner_id"]:
            full = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            owner = {
                "username": row["owner__username"],
                "first_name": row["owner__first_name"],
                "last_name": row["owner__last_name"],
                "full_name": full or row["owner__username"],
            }
        cases[row["pk"]] = {
            "pk": row["pk"],
            "reference": row["reference"],
            "subject": row["subject"],
            "status": row["status"],
            "received_at": row["received_at"],
            "first_answer_due": row["first_answer_due"],
            "due_at": row["due_at"],
            "waiting_since": row["waiting_since"],
            "owning_department": {"name": row["owning_department__name"]},
            "owner": owner,
        }
    return cases


@lru_cache(maxsize=4096)
def _date(day: dt.date) -> str:
    return date_format(day, "j F Y")


def _detail(c: Candidate, case) -> str:
    """The short text after a case in a staff reminder list (built here, not in the template,
    because a sweep may list thousands)."""
    ctx = c.context
    date = _date(c.due_on) if c.due_on else ""
    days = ctx.get("days")
    if c.kind == "waiting_owner":
        return ngettext("väntat %(n)d arbetsdag", "väntat %(n)d arbetsdagar", days) % {"n": days}
    late = (
        ngettext("försenat sedan %(n)d arbetsdag", "försenat sedan %(n)d arbetsdagar", days)
        % {"n": days}
        if days is not None
        else ""
    )
    if c.kind in ("first_answer_soon", "first_answer_overdue", "due_soon"):
        return _("senast %(date)s") % {"date": date}
    if c.kind == "overdue":
        return late
    if c.kind == "escalate_lead":
        if case is not None and case["owner"] is not None:
            owner = case["owner"]["full_name"]
            return _("%(late)s, helhetsansvarig %(owner)s") % {"late": late, "owner": owner}
        return _("%(late)s, ingen helhetsansvarig") % {"late": late}
    if c.kind == "escalate_coordinator":
        unit = case["owning_department"]["name"] if case else ""
        return f"{unit}, {late}"
    if c.kind == "unowned":
        received = _date(timezone.localtime(case["received_at"]).date()) if case else ""
        unit = case["owning_department"]["name"] if case else ""
        return _("%(unit)s, inkom %(date)s") % {"unit": unit, "date": received}
    if c.kind == "contribution_due":
        return _("%(unit)s senast %(date)s") % {"unit": ctx.get("unit_name", ""), "date": date}
    if c.kind == "contribution_late":
        if ctx.get("after_case_due") and case is not None and case["due_at"]:
            return _(
                "underlaget från %(unit)s ska komma %(date)s, efter ärendets egen tidsgräns "
                "%(case_due)s"
            ) % {
                "unit": ctx.get("unit_name", ""),
                "date": date,
                "case_due": _date(case["due_at"]),
            }
        return _("underlaget från %(unit)s skulle ha kommit senast %(date)s") % {
            "unit": ctx.get("unit_name", ""),
            "date": date,
        }
    if c.kind == "transfer_pending":
        return _("från %(from)s till %(to)s") % {
            "from": ctx.get("from_unit", ""),
            "to": ctx.get("to_unit", ""),
        }
    return ""


def _link_emails(pairs: list[tuple[int, int]]) -> None:
    """Point each Reminder row at its e-mail: one UPDATE on PostgreSQL."""
    if not pairs or pairs[0][1] is None:
        return
    if connection.vendor == "postgresql":
        table = Reminder._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS r SET email_id = v.email_id "  # noqa: S608 (our table name)
                "FROM (SELECT UNNEST(%s::bigint[]) AS id, UNNEST(%s::bigint[]) AS email_id) AS v "
                "WHERE r.id = v.id",
                [[p[0] for p in pairs], [p[1] for p in pairs]],
            )
        return
    Reminder.objects.bulk_update(
        [Reminder(pk=pk, email_id=email_id) for pk, email_id in pairs], ["email"], batch_size=500
    )


def enqueue_emails(email_ids: list[int]) -> None:
    """After commit: hand the mails to Celery in batches; if the broker is down they stay
    pending and the next sweep sends them."""
    from cases.tasks import email_send_batch_task

    for start in range(0, len(email_ids), EMAIL_BATCH_SIZE):
        batch = email_ids[start : start + EMAIL_BATCH_SIZE]
        if not publish_or_leave(email_send_batch_task, (batch,)):
            return


# --- For the case page ------------------------------------------------------------------------


def failed_emails_for_case(case) -> list[OutgoingEmail]:
    """E-mails about the case that could not be delivered even after retries (one query)."""
    about_case = Q(subject_id=case.pk) | Q(
        pk__in=Reminder.objects.filter(case=case, email__isnull=False).values("email_id")
    )  # a reminder mail listing several cases is tied to each through its Reminder rows
    return list(
        OutgoingEmail.objects.filter(about_case, status=OutgoingEmail.Status.FAILED)
        .only("pk", "kind", "to", "subject", "attempts", "last_error", "created_at", "subject_id")
        .order_by("-created_at")
    )
