"""The period a dashboard shows and the figures of that period, each per unit, per area and in
total in one query (a cohort: the cases received in the period)."""

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Case
from insights.models import WorkingDay

UNCERTAIN_BELOW = 10  # answers: fewer makes a figure uncertain
LIST_LIMIT = 15

PERIODS = {
    "week": gettext_lazy("Denna vecka"),
    "month": gettext_lazy("Denna månad"),
    "quarter": gettext_lazy("Detta kvartal"),
    "year": gettext_lazy("Detta år"),
    "custom": gettext_lazy("Egen period"),
}


# --- The period --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date  # first day
    end: dt.date  # last day (inclusive)
    prev_start: dt.date
    prev_end: dt.date

    @property
    def label(self) -> str:
        return str(PERIODS.get(self.kind, ""))

    def bounds(self):
        """Aware datetimes [from, to) of the period and of the one before."""
        return (
            _midnight(self.start),
            _midnight(self.end + dt.timedelta(days=1)),
            _midnight(self.prev_start),
            _midnight(self.prev_end + dt.timedelta(days=1)),
        )


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class PeriodError(ValueError):
    pass


def parse_period(params, today: dt.date | None = None) -> Period:
    """The period the query string asks for; `this week/month/quarter/year` run from the
    start of the week/... to today and are compared with the same stretch of the one before.
    A custom period (from, to) is compared with as many days right before it."""
    today = today or timezone.localdate()
    kind = params.get("period") or "month"
    if kind not in PERIODS:
        kind = "month"
    if kind == "custom":
        try:
            start = dt.date.fromisoformat(params.get("from", ""))
            end = dt.date.fromisoformat(params.get("to", ""))
        except ValueError as error:
            raise PeriodError(_("Ange datum som ÅÅÅÅ-MM-DD, till exempel 2026-01-31.")) from error
        if end < start:
            raise PeriodError(_("Slutdatumet kan inte vara före startdatumet."))
        if (end - start).days > 3 * 366:
            raise PeriodError(_("Välj en period på högst tre år."))
        length = end - start + dt.timedelta(days=1)
        return Period(kind, start, end, start - length, start - dt.timedelta(days=1))
    if kind == "week":
        start = today - dt.timedelta(days=today.weekday())
        prev_start = start - dt.timedelta(days=7)
    elif kind == "month":
        start = today.replace(day=1)
        prev_start = start - relativedelta(months=1)
    elif kind == "quarter":
        start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        prev_start = start - relativedelta(months=3)
    else:
        start = today.replace(month=1, day=1)
        prev_start = start - relativedelta(years=1)
    elapsed = today - start
    prev_end = min(prev_start + elapsed, start - dt.timedelta(days=1))
    return Period(kind, start, today, prev_start, prev_end)


# --- Median: percentile_cont on PostgreSQL, a registered aggregate on SQLite ----------------


class _SqliteMedian:
    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        values = sorted(self.values)
        middle = len(values) // 2
        if len(values) % 2:
            return float(values[middle])
        return (values[middle - 1] + values[middle]) / 2


def register_sqlite_functions(sender, connection, **kwargs):
    """connection_created: give SQLite the median aggregate PostgreSQL has built in."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("fl_median", 1, _SqliteMedian)


def _median_sql(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {expression})"
    return f"fl_median({expression})"


def _local_date_sql(column: str) -> tuple[str, list]:
    sql, params = connection.ops.datetime_cast_date_sql(
        column, [], timezone.get_current_timezone_name()
    )
    return sql, list(params)


def _db_datetime(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


# --- Period figures in one query: per unit, per area, and in total for both periods ---------


def _period_rows(period: Period, units: set[int] | None, today: dt.date):
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    received_sql, received_params = _local_date_sql("c.received_at")
    answered_sql, answered_params = _local_date_sql("c.first_answered_at")
    closed_sql, closed_params = _local_date_sql("c.closed_at")
    unit_filter = ""
    unit_params: list = []
    if units is not None:
        ids = sorted(units) or [-1]
        unit_filter = f" AND c.owning_department_id IN ({', '.join(['%s'] * len(ids))})"
        unit_params = ids
    # Only fixed SQL fragments and placeholders are put together here; values are params.
    aggregates = f"""
        COUNT(*),
        SUM(CASE WHEN b.f_date IS NOT NULL AND b.f_date <= b.first_answer_due THEN 1 ELSE 0 END),
        SUM(CASE WHEN b.f_date IS NOT NULL OR b.first_answer_due < %s THEN 1 ELSE 0 END),
        SUM(b.transfer_count),
        SUM(CASE WHEN b.transfer_count >= 2 THEN 1 ELSE 0 END),
        COUNT(b.c_ord),
        {_median_sql("b.f_ord - b.r_ord")},
        {_median_sql("b.c_ord - b.r_ord")}
    """
    case_table, calendar = Case._meta.db_table, WorkingDay._meta.db_table
    # The working-day ordinals, weeks and months come from joins on the calendar (hash joins
    # on PostgreSQL); the cases are read once and grouped five ways: per unit, per area, in
    # total for both periods, per week and channel (chart), per month and unit (chart).
    sql = f"""
        WITH base AS (
            SELECT c.owning_department_id AS unit, c.primary_area_id AS area,
                   c.channel AS channel,
                   CASE WHEN c.received_at >= %s THEN 1 ELSE 0 END AS cur,
                   c.first_answer_due AS first_answer_due, c.transfer_count AS transfer_count,
                   rd.ordinal AS r_ord, rd.week_start AS r_week, rd.month_start AS r_month,
                   fd.date AS f_date, fd.ordinal AS f_ord, cd.ordinal AS c_ord
            FROM {case_table} c
            LEFT JOIN {calendar} rd ON rd.date = {received_sql}
            LEFT JOIN {calendar} fd ON fd.date = {answered_sql}
            LEFT JOIN {calendar} cd ON cd.date = {closed_sql}
            WHERE ((c.received_at >= %s AND c.received_at < %s)
                OR (c.received_at >= %s AND c.received_at < %s)){unit_filter}
        )
        SELECT 'unit', unit, CAST(NULL AS DATE), CAST(NULL AS VARCHAR(16)), {aggregates}
        FROM base b WHERE cur = 1 GROUP BY unit
        UNION ALL
        SELECT 'area', area, NULL, NULL, {aggregates} FROM base b WHERE cur = 1 GROUP BY area
        UNION ALL
        SELECT 'total', cur, NULL, NULL, {aggregates} FROM base b GROUP BY cur
        UNION ALL
        SELECT 'week', NULL, r_week, channel, COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM base b WHERE cur = 1 GROUP BY r_week, channel
        UNION ALL
        SELECT 'month', unit, r_month, NULL, COUNT(*),
               SUM(CASE WHEN b.f_date IS NOT NULL AND b.f_date <= b.first_answer_due
                   THEN 1 ELSE 0 END),
               SUM(CASE WHEN b.f_date IS NOT NULL OR b.first_answer_due < %s THEN 1 ELSE 0 END),
               NULL, NULL, NULL, NULL, NULL
        FROM base b WHERE cur = 1 GROUP BY r_month, unit
    """  # noqa: S608
    params = [
        _db_datetime(cur_from),
        *received_params,
        *answered_params,
        *closed_params,
        _db_datetime(cur_from),
        _db_datetime(cur_to),
        _db_datetime(prev_from),
        _db_datetime(prev_to),
        *unit_params,
        *[connection.ops.adapt_datefield_value(today)] * 4,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = {"unit": {}, "area": {}, "total": {}, "week": [], "month": []}
    for row in rows:
        dim, key, day, channel = row[:4]
        n, on_time, decided, transfers, bouncing, closed, med_first, med_close = row[4:]
        if dim == "week":
            result["week"].append((_parse_date(day), channel, n))
            continue
        if dim == "month":
            result["month"].append((_parse_date(day), key, on_time or 0, decided or 0))
            continue
        result[dim][key] = {
            "received": n,
            "on_time": on_time or 0,
            "decided": decided or 0,
            "transfers": transfers or 0,
            "bouncing": bouncing or 0,
            "closed": closed or 0,
            "median_first": float(med_first) if med_first is not None else None,
            "median_close": float(med_close) if med_close is not None else None,
        }
    result["week"].sort(key=lambda item: (item[0] or dt.date.min, item[1]))
    result["month"].sort(key=lambda item: (item[0] or dt.date.min, item[1] or 0))
    return result


def _parse_date(value):
    """Raw SQL on SQLite gives dates as text."""
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _share(part, whole):
    return part / whole * 100 if whole else None


def _ratio(part, whole):
    return part / whole if whole else None
