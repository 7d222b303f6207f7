"""The sweep: stream every source's candidates in chunks, record what was not sent yet, and
queue the mails; one transaction."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from functools import partial

from django.db import transaction
from django.db.models import (
    Q,
)
from django.utils import timezone

from cases import deadlines
from cases.models import (
    Case,
    CaseEvent,
)
from followup.reminders import quiet, store
from followup.reminders.mail import (
    MailBook,
    _link_emails,
    _render_emails,
    enqueue_emails,
    is_grouped,
    mail_urls,
)
from followup.reminders.protocol import Candidate, SweepContext, SweepReport, _sources
from followup.reminders.sources import _BUILTIN, flush_marks, remember_handled
from outbox.models import OutgoingEmail
from outbox.services import email_flush_pending

logger = logging.getLogger(__name__)

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
    with mail_urls():
        deliver(
            _candidates(ctx),
            now=now,
            report=report,
            after_chunk=partial(flush_marks, ctx),
            before_commit=partial(_finish, ctx, report),
        )
    return report


def _finish(ctx: SweepContext, report: SweepReport) -> None:
    if ctx.built_in_ran:
        remember_handled(ctx, report)
        quiet.record_complete(ctx, ctx.now)


def _candidates(ctx: SweepContext) -> Iterator[Candidate | None]:
    """The built-in sources streamed (read while the sweep writes) unless nothing they read
    has changed since the last sweep that ran them (`quiet`), then the plug-ins' candidates,
    each plug-in asked up front so that one failing does not stop the others; None after each
    source (a chunk never mixes two)."""
    plugged: list[Candidate] = []
    for source in list(_sources):
        if source in _BUILTIN:
            continue
        try:
            plugged.extend(source(ctx))
        except Exception:
            logger.exception("Reminder source %r failed; the others still run", source)
    if not quiet.nothing_changed(ctx):
        for source in list(_sources):
            if source in _BUILTIN:
                yield from source(ctx)
                yield None
        ctx.built_in_ran = True
    yield from plugged


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
    with mail_urls():
        deliver(candidates, now=now, report=report)
    return report


def deliver(
    candidates: Iterable[Candidate | None],
    *,
    now=None,
    report: SweepReport | None = None,
    after_chunk: Callable[[], None] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> SweepReport:
    """Record the candidates not yet sent as Reminder rows and queue their e-mails after
    commit; returns the report. The heart of "exactly once".

    The candidates are consumed SWEEP_CHUNK at a time, in one transaction: what is held at
    once is a chunk and, per staff member, the summary of their mail (MailBook)."""
    now = now or timezone.now()
    report = report or SweepReport()
    with transaction.atomic():
        store.begin()
        delivery = _Delivery(now, report)
        for chunk in _chunks(candidates, SWEEP_CHUNK):
            delivery.add(chunk)
            if after_chunk is not None:
                after_chunk()
        delivery.finish()
        if before_commit is not None:
            before_commit()
    return report


# Candidates handled (rows written, mails noted) at a time.
SWEEP_CHUNK = 2_000


def _chunks(candidates: Iterable[Candidate | None], size: int) -> Iterator[list[Candidate]]:
    """Lists of about `size` candidates, cut where a source ends (None) and, when full, only
    where the case changes: as the sources yield by case, every sweep writes the rows in the
    same order (source, case, key) wherever its chunks end, so two at once never deadlock."""
    chunk: list[Candidate] = []
    for candidate in candidates:
        if candidate is None:
            if chunk:
                yield chunk
                chunk = []
            continue
        if len(chunk) >= size and candidate.case_id != chunk[-1].case_id:
            yield chunk
            chunk = []
        chunk.append(candidate)
    if chunk:
        yield chunk


def _order(c: Candidate):
    return (c.case_id or 0, c.key)


class _Delivery:
    """One sweep's writes: Reminder rows a chunk at a time, an event per reminder won, a
    mail of its own for a company's (or plug-in's) reminder, and per staff address one mail
    listing all its reminders, written at the end."""

    def __init__(self, now, report: SweepReport):
        self.now = now
        self.report = report
        self.sweep_id = uuid.uuid4()
        self.book = MailBook()
        self.email_ids: list[int] = []
        self.last_pk = 0
        self.chunks = 0

    def add(self, chunk: list[Candidate]) -> None:
        unique: dict[tuple, Candidate] = {}
        for candidate in chunk:
            if candidate.recipient_email:
                unique.setdefault(candidate.key, candidate)
        self.report.candidates += len(unique)
        if not unique:
            return
        ordered = sorted(unique.values(), key=_order)
        book = self.book
        grouped = [is_grouped(c) for c in ordered]
        staff = {c.key[2] for c, g in zip(ordered, grouped, strict=True) if g}
        new = sorted(staff - set(book.mails))
        for to, email_id in zip(new, store.reserve_email_ids(len(new)), strict=True):
            book.open(to, email_id)
        won = store.insert_reminders(
            [
                (
                    c.kind,
                    c.key[1],
                    c.key[2],
                    c.case_id,
                    c.recipient_id,
                    c.due_on,
                    book.email_id(c.key[2]) if g else None,
                )
                for c, g in zip(ordered, grouped, strict=True)
            ],
            self.sweep_id,
            self.last_pk,
            first=self.chunks == 0,
        )
        self.chunks += 1
        if not won:
            return
        self.last_pk = max(self.last_pk, won[-1][0])
        own: list[tuple[int, Candidate]] = []
        events = []
        reminder_sent = CaseEvent.Kind.REMINDER_SENT.value
        escalated = CaseEvent.Kind.ESCALATED.value
        for pk, kind, key, to, age, department_id in won:
            c = unique[(kind, key, to)]
            if c.case_id is not None:
                kind_of_event = escalated if c.escalation else reminder_sent
                events.append((c.case_id, kind_of_event, (c.kind, to, c.due_on)))
            if book.email_id(to) is not None and is_grouped(c):
                book.add(c, age, department_id)
            else:
                own.append((pk, c))
            self.report.sent[c.kind] += 1
        store.insert_events(events, self.now)
        if own:
            mails = _render_emails([(False, [c]) for _pk, c in own])
            emails = OutgoingEmail.objects.bulk_create(mails)
            _link_emails([(pk, email.pk) for (pk, _c), email in zip(own, emails, strict=True)])
            self.email_ids.extend(email.pk for email in emails)

    def finish(self) -> None:
        for emails in self.book.render():
            OutgoingEmail.objects.bulk_create(emails)
            self.email_ids.extend(email.pk for email in emails)
        if self.email_ids:
            transaction.on_commit(partial(enqueue_emails, self.email_ids))
