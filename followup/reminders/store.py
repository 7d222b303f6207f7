"""The sweep's bulk writes: Reminder rows, their events, the cases' marks and e-mail ids.

A sweep writes tens of thousands of rows. On PostgreSQL they go through COPY (formatted by
psycopg's C code) into a temporary table and from there into the real table in one
statement; passing them as query parameters (arrays quoted by Python) cost more than the
rest of the sweep. Elsewhere (SQLite in the tests) the ORM's bulk_create does the same.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from functools import lru_cache

from django.db import connection
from django.utils import timezone

from cases.models import CaseEvent, Reminder, ReminderMark
from outbox.models import OutgoingEmail

# One row a reminder candidate: what identifies it and what its Reminder row holds.
ReminderRow = tuple  # (kind, subject_key, email, case_id, recipient_id, due_on, email_id)
# One row a winner: (reminder pk, kind, subject_key, email, when the case came in as seconds
# since the epoch (infinity without a case), the case's unit id).
Won = tuple

MARK_COLUMNS = (
    "status",
    "owner_key",
    "department_key",
    "first_answer_due",
    "due_at",
    "first_answered_at",
    "waiting_since",
    "received_at",
)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _copy(cursor, sql: str, rows) -> None:
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


# Session-local, emptied at every commit; created when a sweep first needs them (a sweep
# with nothing to do needs neither), IF NOT EXISTS: a rolled-back sweep may have taken them
# with it.
_ROWS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS followup_sweep_rows ("
    " pos integer, kind varchar(48), subject_key varchar(120), recipient_email varchar(254),"
    " case_id bigint, recipient_id bigint, due_on date, email_id bigint) ON COMMIT DELETE ROWS"
)
_MARKS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS followup_sweep_marks (case_id bigint,"
    " status varchar(32), owner_key integer, department_key integer, first_answer_due date,"
    " due_at date, first_answered_at timestamptz, waiting_since timestamptz,"
    " received_at timestamptz) ON COMMIT DELETE ROWS"
)


def begin() -> None:
    """First thing in a delivery's transaction."""
    if not _postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            # The rows are idempotent and re-derivable: should the server crash right after
            # the commit, the next sweep sends what was lost. Not waiting for the WAL flush
            # saves most of the commit time of a large sweep.
            "SET LOCAL synchronous_commit TO OFF;"
            # The open cases are compared with their marks in one hash anti-join (a sort
            # spilled to disk with the default 4 MB at 30 000 open cases), also when read
            # through a server-side cursor (planned for the first rows by default: a nested
            # loop that took 40 s when the marks' statistics were stale).
            " SET LOCAL work_mem TO '64MB'; SET LOCAL cursor_tuple_fraction TO 1"
        )


def insert_reminders(
    rows: list[ReminderRow], sweep_id: uuid.UUID, last_pk: int, *, first: bool = True
) -> list[Won]:
    """INSERT the rows not sent before (ON CONFLICT DO NOTHING), in the given order, stamped
    with the sweep id; return the ones this statement inserted: another sweep at the same
    moment may have won some."""
    created = timezone.now()
    if not _postgres():
        Reminder.objects.bulk_create(
            [
                Reminder(
                    kind=kind,
                    subject_key=key,
                    recipient_email=email,
                    case_id=case_id,
                    recipient_id=user_id,
                    due_on=due_on,
                    email_id=email_id,
                    sweep=sweep_id,
                )
                for kind, key, email, case_id, user_id, due_on, email_id in rows
            ],
            ignore_conflicts=True,
            batch_size=500,
        )
        return [
            (pk, kind, key, email, received.timestamp() if received else math.inf, unit)
            for pk, kind, key, email, received, unit in Reminder.objects.filter(
                sweep=sweep_id, pk__gt=last_pk
            )
            .order_by("pk")
            .values_list(
                "pk",
                "kind",
                "subject_key",
                "recipient_email",
                "case__received_at",
                "case__owning_department_id",
            )
        ]
    table = Reminder._meta.db_table
    with connection.cursor() as cursor:
        if first:
            cursor.execute(_ROWS_TABLE)
        else:
            # The rows of the chunk before are deleted, but a sequential scan would still
            # read them until the commit.
            cursor.execute("TRUNCATE followup_sweep_rows")
        _copy(
            cursor,
            "COPY followup_sweep_rows (pos, kind, subject_key, recipient_email, case_id,"
            " recipient_id, due_on, email_id) FROM STDIN",
            ((pos, *row) for pos, row in enumerate(rows)),
        )
        # The look-up keeps what was sent before from taking ids off the sequence (one index
        # probe per row: LIMIT 1 in a LATERAL, so that the planner, which has not seen the
        # rows this sweep added, does not read the whole table per chunk); the ON CONFLICT is
        # what guarantees exactly once.
        cursor.execute(
            "WITH t AS (DELETE FROM followup_sweep_rows RETURNING *),"  # noqa: S608 (our tables)
            f" ins AS (INSERT INTO {table} (kind, subject_key, recipient_email, case_id,"
            "  recipient_id, due_on, email_id, created_at, sweep)"
            "  SELECT t.kind, t.subject_key, t.recipient_email, t.case_id, t.recipient_id,"
            "   t.due_on, t.email_id, %s, %s FROM t"
            f"  LEFT JOIN LATERAL (SELECT 1 AS sent FROM {table} r WHERE r.kind = t.kind"
            "   AND r.subject_key = t.subject_key AND r.recipient_email = t.recipient_email"
            "   LIMIT 1) before ON true"
            "  WHERE before.sent IS NULL"
            "  ORDER BY t.pos"
            "  ON CONFLICT DO NOTHING"
            "  RETURNING id, kind, subject_key, recipient_email, case_id)"
            " SELECT ins.id, ins.kind, ins.subject_key, ins.recipient_email,"
            "  coalesce(extract(epoch FROM c.received_at)::float8, 'Infinity'),"
            "  c.owning_department_id"
            " FROM ins LEFT JOIN cases_case c ON c.id = ins.case_id ORDER BY ins.id",
            [created, sweep_id],
        )
        return cursor.fetchall()


def event_data(reminder: str, to: str, due_on: dt.date | None) -> dict:
    data = {"reminder": reminder, "to": to}
    if due_on:
        data["due_on"] = due_on.isoformat()
    return data


@lru_cache(maxsize=2048)
def event_json(reminder: str, to: str, due_on: dt.date | None) -> str:
    """The event's data as JSON (a sweep writes the same few hundred over and over)."""
    return json.dumps(event_data(reminder, to, due_on))


def insert_events(rows: list[tuple[int, str, tuple]], now: dt.datetime) -> None:
    """One internal event per (case_id, kind, (reminder kind, to, due_on))."""
    if not rows:
        return
    if not _postgres():
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(
                    case_id=case_id,
                    kind=kind,
                    created_at=now,
                    is_public=False,
                    data=event_data(*about),
                )
                for case_id, kind, about in rows
            ],
            batch_size=500,
        )
        return
    with connection.cursor() as cursor:
        _copy(
            cursor,
            f"COPY {CaseEvent._meta.db_table} (case_id, kind, created_at, data, is_public)"
            " FROM STDIN",
            ((case_id, kind, now, event_json(*about), False) for case_id, kind, about in rows),
        )


def reserve_email_ids(n: int) -> list[int]:
    """Ids for e-mails written later in the same transaction (the Reminder rows point at them
    first: their foreign key is checked at commit)."""
    if n <= 0:
        return []
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [OutgoingEmail._meta.db_table, n],
            )
            return [row[0] for row in cursor.fetchall()]
    # AUTOINCREMENT never hands out an id twice, even after the row is gone.
    placeholders = OutgoingEmail.objects.bulk_create(
        [OutgoingEmail(kind="reminders", to="", subject="", body="") for _ in range(n)]
    )
    ids = [email.pk for email in placeholders]
    OutgoingEmail.objects.filter(pk__in=ids)._raw_delete(
        OutgoingEmail.objects.db
    )  # nothing refers to them
    return ids


def stage_marks(marks: dict[int, tuple], staged: dict[int, tuple], *, first: bool = True) -> None:
    """Put cases aside as handled in the given state (case id -> MARK_COLUMNS values), to be
    recorded by save_marks at the end of the transaction (on PostgreSQL in a temporary
    table, elsewhere in `staged`)."""
    if not marks:
        return
    if not _postgres():
        staged.update(marks)
        return
    columns = ", ".join(MARK_COLUMNS)
    with connection.cursor() as cursor:
        if first:
            cursor.execute(_MARKS_TABLE)
        _copy(
            cursor,
            f"COPY followup_sweep_marks (case_id, {columns}) FROM STDIN",
            ((pk, *row) for pk, row in marks.items()),
        )


def save_marks(context: str, staged: dict[int, tuple], *, any_staged: bool = True) -> None:
    """Record the staged cases as handled under `context`: each row written once."""
    if not _postgres():
        if staged:
            ReminderMark.objects.bulk_create(
                [
                    ReminderMark(
                        case_id=pk, context=context, **dict(zip(MARK_COLUMNS, row, strict=True))
                    )
                    for pk, row in sorted(staged.items())
                ],
                update_conflicts=True,
                unique_fields=["case"],
                update_fields=["context", *MARK_COLUMNS],
                batch_size=500,
            )
            staged.clear()
        return
    if not any_staged:
        return  # (nor was the temporary table created)
    table = connection.ops.quote_name(ReminderMark._meta.db_table)
    columns = ", ".join(MARK_COLUMNS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in ("context", *MARK_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH t AS (DELETE FROM followup_sweep_marks RETURNING *)"  # noqa: S608 (our tables)
            f" INSERT INTO {table} (case_id, context, {columns})"
            f" SELECT t.case_id, %s, {columns} FROM t ORDER BY t.case_id"
            f" ON CONFLICT (case_id) DO UPDATE SET {updates}",
            [context],
        )
        if cursor.rowcount >= ANALYZE_AFTER:
            # The next sweep compares every open case with these rows: plan it on their
            # statistics, not on those of an empty table (autovacuum may come much later).
            cursor.execute(f"ANALYZE {table}")


ANALYZE_AFTER = 1_000
