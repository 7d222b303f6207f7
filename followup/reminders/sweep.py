"""The sweep: ask every source, keep what was not sent yet, record it and queue the mails."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable
from functools import partial

from django.db import connection, transaction
from django.db.models import (
    Q,
)
from django.utils import timezone

from cases import deadlines
from cases.models import (
    Case,
    CaseEvent,
    Reminder,
)
from followup.reminders.mail import _compose, _link_emails, _render_emails, enqueue_emails
from followup.reminders.protocol import Candidate, SweepContext, SweepReport, _sources
from followup.reminders.sources import _BUILTIN, remember_handled
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
    candidates: list[Candidate] = []
    for source in list(_sources):
        try:
            candidates.extend(source(ctx))
        except Exception:
            if source in _BUILTIN:
                raise
            logger.exception("Reminder source %r failed; the others still run", source)
    deliver(candidates, now=now, report=report)
    remember_handled(ctx, report)
    return report


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
