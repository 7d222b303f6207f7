"""A sweep with nothing new to do skips the built-in sources.

What the built-in sources derive depends only on the rows they read (cases, followers,
contributions, transfers, units, users, permissions, the sent reminders), the day and the
settings. On PostgreSQL, triggers record every transaction that writes one of those rows
(`followup.models.SweepChange`, migration followup 0001). A sweep first deletes the records it
can see: those transactions have committed, so the sources, read afterwards in the same
transaction, see their writes; a write that commits later leaves its record for the next
sweep. When there was none, and the last sweep that ran the built-in sources to the end did so
under the same context (day, settings), everything they would offer is already sent: the sweep
skips them. It records the context at the end of every sweep that ran them, in its own
transaction, so a sweep that fails or rolls back leaves the records and the state as they were.
Two sweeps at once: the second waits for the records the first has deleted and, once the first
has committed, finds none (the first did the work); should the first roll back, the second gets
them.

Elsewhere (SQLite) there are no triggers and every sweep derives everything.
"""

from __future__ import annotations

import hashlib
import json

from django.db import connection

from followup.models import SweepChange, SweepState
from followup.reminders.protocol import SweepContext

# Bump when the built-in sources change what they derive (a deployment then sweeps fully).
SOURCES_VERSION = 1
_STATE_ID = 1


def _context(ctx: SweepContext) -> str:
    raw = json.dumps(
        [
            SOURCES_VERSION,
            ctx.today.isoformat(),
            ctx.escalate_after_days,
            ctx.company_reminder_days,
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def nothing_changed(ctx: SweepContext) -> bool:
    """True when the built-in sources would offer nothing that is not sent already. Inside the
    sweep's transaction, before the sources read anything: consumes the change records."""
    if connection.vendor != "postgresql":
        return False
    changes, state = SweepChange._meta.db_table, SweepState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH seen AS (DELETE FROM {changes} RETURNING 1)"  # noqa: S608 (our tables)
            f" SELECT (SELECT count(*) FROM seen), (SELECT context FROM {state} WHERE id = %s)",
            [_STATE_ID],
        )
        seen, context = cursor.fetchone()
    return not seen and context == _context(ctx)


def record_complete(ctx: SweepContext, now) -> None:
    """At the end of a sweep's transaction that ran the built-in sources to the end."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SweepState._meta.db_table} (id, context, swept_at)"  # noqa: S608
            " VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE"
            " SET context = EXCLUDED.context, swept_at = EXCLUDED.swept_at",
            [_STATE_ID, _context(ctx), now],
        )
