"""The per-case summary behind the dashboard's period figures (`CaseFigures`): one narrow row
per case with the working-day ordinals of the days it was received, first answered and closed.

The rows are derived from the case and the working-day calendar by one SQL statement (an
upsert), the same joins and time-zone conversion the period query used to make for every case
of the period on every computation. They are kept in step with the cases:

- in the transaction that changes a case: `case_saved` (post_save of Case, connected in
  `InsightsConfig.ready`) refreshes the case's row when a save touches a summarised field;
- a case inserted by `cases.bulk.insert_together` on PostgreSQL (the public form) gets its row
  from the same statement: `new_cases_sql` is registered with `cases.bulk.write_along`;
- a deleted case's row goes with it (on_delete=CASCADE);
- `summarise_cases()` (the migration, the command `summarise_cases`, and after the calendar is
  rebuilt) derives every row again; running it twice changes nothing.

Writes that bypass Case.save() (COPY, raw SQL, QuerySet.update of a summarised field) must be
followed by `summarise_cases()`; nothing in the portal does that (the benchmark's COPY seeding
does, and runs it).
"""

from collections.abc import Iterable

from django.db import connection as default_connection

from insights.models import CaseFigures, WorkingDay

# The Case fields the summary copies or derives from; a save touching none of them leaves
# the summary as it is.
SUMMARISED_FIELDS = frozenset(
    {
        "received_at",
        "owning_department",
        "owning_department_id",
        "primary_area",
        "primary_area_id",
        "channel",
        "first_answer_due",
        "first_answered_at",
        "closed_at",
        "transfer_count",
    }
)

BATCH = 5000

_COLUMNS = (
    "case_id",
    "received_at",
    "unit_id",
    "area_id",
    "channel",
    "first_answer_due",
    "transfer_count",
    "received_ordinal",
    "answered_ordinal",
    "closed_ordinal",
    "answered_on",
    "first_days",
    "close_days",
    "week_start",
    "month_start",
)


def _upsert_sql(connection, where: str, source: str = "") -> tuple[str, list]:
    """The upsert of the rows of the cases `where` selects (alias c), read from the case table
    or from the relation `source` (with the case table's columns: a few new cases, whose days
    are looked up one by one; the planner would otherwise hash the whole calendar three
    times for a row it cannot count)."""
    from django.utils import timezone

    from cases.models import Case

    tzname = timezone.get_current_timezone_name()
    casts, params = [], []
    for column in ("c.received_at", "c.first_answered_at", "c.closed_at"):
        sql, cast_params = connection.ops.datetime_cast_date_sql(column, [], tzname)
        casts.append(sql)
        params.extend(cast_params)
    table, case_table = CaseFigures._meta.db_table, source or Case._meta.db_table
    calendar = WorkingDay._meta.db_table
    lookup = "LEFT JOIN LATERAL (SELECT * FROM {0} WHERE date = {2} LIMIT 1) {1} ON TRUE"
    join = lookup if source else "LEFT JOIN {0} {1} ON {1}.date = {2}"
    joins = [
        join.format(calendar, alias, cast)
        for alias, cast in zip(("rd", "fd", "cd"), casts, strict=True)
    ]
    updates = ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS[1:])
    # Only fixed SQL fragments and placeholders are put together here; values are params.
    sql = f"""
        INSERT INTO {table} ({", ".join(_COLUMNS)})
        SELECT c.id, c.received_at, c.owning_department_id, c.primary_area_id, c.channel,
               c.first_answer_due, c.transfer_count,
               rd.ordinal, fd.ordinal, cd.ordinal, fd.date,
               fd.ordinal - rd.ordinal, cd.ordinal - rd.ordinal, rd.week_start, rd.month_start
        FROM {case_table} c
        {" ".join(joins)}
        WHERE {where}
        ON CONFLICT (case_id) DO UPDATE SET {updates}
    """  # noqa: S608
    return sql, params


def summarise_cases(case_ids: Iterable[int] | None = None, *, connection=None) -> int:
    """Derive the summary rows of `case_ids` (all cases when None) from the cases and the
    calendar, inserting or replacing them (one statement per 5 000 ids, fewer where the
    database takes fewer parameters). Idempotent.
    Returns the rows written."""
    connection = connection or default_connection
    if case_ids is None:
        batches = [None]
    else:
        ids = sorted(set(case_ids))
        size = min(BATCH, (connection.features.max_query_params or BATCH) - 10)
        batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    written = 0
    with connection.cursor() as cursor:
        for batch in batches:
            if batch is None:
                sql, params = _upsert_sql(connection, "1 = 1")
            else:
                sql, params = _upsert_sql(connection, f"c.id IN ({', '.join(['%s'] * len(batch))})")
                params = [*params, *batch]
            cursor.execute(sql, params)
            written += cursor.rowcount
    return written


def new_cases_sql(source: str) -> tuple[str, list]:
    """For `cases.bulk.write_along`: the summary rows of the new cases in `source` (PostgreSQL)."""
    return _upsert_sql(default_connection, "TRUE", source)


def case_saved(sender, instance, created, update_fields=None, written_along=False, **kwargs):
    """post_save of Case: refresh its summary row in the same transaction when the save may
    have changed what the row holds (unless `new_cases_sql` wrote it with the case)."""
    if written_along:
        return
    if created or update_fields is None or SUMMARISED_FIELDS & set(update_fields):
        summarise_cases([instance.pk], connection=_connection(kwargs.get("using")))


def _connection(alias):
    from django.db import connections

    return connections[alias or "default"]
