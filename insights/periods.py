"""The period a dashboard shows and the figures of that period, each per unit, per area and in
total in one query (a cohort: the cases received in the period)."""

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insights.models import CaseFigures

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


def _db_datetime(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


# --- Period figures in one query: per unit, per area, and in total for both periods ---------

_SUMS = """
    COUNT(*),
    SUM(CASE WHEN answered_on IS NOT NULL AND answered_on <= first_answer_due THEN 1 ELSE 0 END),
    SUM(CASE WHEN answered_on IS NOT NULL OR first_answer_due < %s THEN 1 ELSE 0 END),
    SUM(transfer_count),
    SUM(CASE WHEN transfer_count >= 2 THEN 1 ELSE 0 END),
    COUNT(closed_ordinal)
"""
_FIGURES = ("received", "on_time", "decided", "transfers", "bouncing", "closed")


def _period_rows(period: Period, units: set[int] | None, today: dt.date):
    """The period's figures from the per-case summary (insights.summary) in one query of four
    grouped parts over one narrow table (on PostgreSQL the period's three are grouping sets
    of one read of its cases, a hash table each): the period's cases by unit,
    area and the working days to the first answer and to closing (from which the totals per
    unit, per area and for the period, and the medians, are summed in Python: histograms
    rather than sorting every case for percentile_cont); the period before by those working
    days only (it is compared in total); per week and channel; per month and unit."""
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    unit_filter = ""
    unit_params: list = []
    if units is not None:
        ids = sorted(units) or [-1]
        unit_filter = f" AND unit_id IN ({', '.join(['%s'] * len(ids))})"
        unit_params = ids
    table = CaseFigures._meta.db_table
    current = f"received_at >= %s AND received_at < %s{unit_filter}"
    # Only fixed SQL fragments and placeholders are put together here; values are params.
    day = connection.ops.adapt_datefield_value(today)
    cur = [_db_datetime(cur_from), _db_datetime(cur_to), *unit_params]
    prev = [_db_datetime(prev_from), _db_datetime(prev_to), *unit_params]
    before = f"""
        SELECT 0, NULL, NULL, CAST(NULL AS DATE), CAST(NULL AS VARCHAR(16)),
               first_days, close_days, {_SUMS}
        FROM {table} WHERE {current}
        GROUP BY first_days, close_days
    """  # noqa: S608
    if connection.vendor == "postgresql":
        # The period's three groupings from one read of its cases (grouping sets); the week or
        # month in one column, as in the union below.
        sql = f"""
            SELECT CASE WHEN GROUPING(week_start) = 0 THEN 2
                        WHEN GROUPING(month_start) = 0 THEN 3 ELSE 1 END,
                   unit_id, area_id,
                   CASE WHEN GROUPING(week_start) = 0 THEN week_start ELSE month_start END,
                   channel, first_days, close_days, {_SUMS}
            FROM {table} WHERE {current}
            GROUP BY GROUPING SETS ((unit_id, area_id, first_days, close_days),
                                    (week_start, channel), (month_start, unit_id))
            UNION ALL {before}
        """  # noqa: S608
        params = [day, *cur, day, *prev]
    else:
        sql = f"""
            SELECT 1, unit_id, area_id, CAST(NULL AS DATE), CAST(NULL AS VARCHAR(16)),
                   first_days, close_days, {_SUMS}
            FROM {table} WHERE {current}
            GROUP BY unit_id, area_id, first_days, close_days
            UNION ALL {before}
            UNION ALL
            SELECT 2, NULL, NULL, week_start, channel, NULL, NULL,
                   COUNT(*), NULL, NULL, NULL, NULL, NULL
            FROM {table} WHERE {current}
            GROUP BY week_start, channel
            UNION ALL
            SELECT 3, unit_id, NULL, month_start, NULL, NULL, NULL, COUNT(*),
                   SUM(CASE WHEN answered_on IS NOT NULL AND answered_on <= first_answer_due
                       THEN 1 ELSE 0 END),
                   SUM(CASE WHEN answered_on IS NOT NULL OR first_answer_due < %s
                       THEN 1 ELSE 0 END),
                   NULL, NULL, NULL
            FROM {table} WHERE {current}
            GROUP BY month_start, unit_id
        """  # noqa: S608
        params = [day, *cur, day, *prev, *cur, day, *cur]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    # First per (unit, area) of the period and per period (a row each), then summed up.
    cells: dict = {}
    result = {"unit": {}, "area": {}, "total": {}, "week": [], "month": []}
    for part, unit, area, day, channel, first_days, close_days, *sums in rows:
        if part == 2:
            result["week"].append((_parse_date(day), channel, sums[0]))
        elif part == 3:
            result["month"].append((_parse_date(day), unit, sums[1] or 0, sums[2] or 0))
        else:
            cell = cells.get((part, unit, area))
            if cell is None:
                cell = cells[(part, unit, area)] = [[0] * len(_FIGURES), {}, {}]
            totals, firsts, closes = cell
            for index, value in enumerate(sums):
                if value:
                    totals[index] += value
            n = sums[0]
            if first_days is not None:
                firsts[first_days] = firsts.get(first_days, 0) + n
            if close_days is not None:
                closes[close_days] = closes.get(close_days, 0) + n
    groups: dict = {"unit": {}, "area": {}, "total": {}}
    for (part, unit, area), (totals, firsts, closes) in cells.items():
        keys = (("unit", unit), ("area", area), ("total", 1)) if part else (("total", 0),)
        for dim, key in keys:
            group = groups[dim].get(key)
            if group is None:
                group = groups[dim][key] = [[0] * len(_FIGURES), {}, {}]
            for index, value in enumerate(totals):
                group[0][index] += value
            for histogram, counts in ((group[1], firsts), (group[2], closes)):
                for value, n in counts.items():
                    histogram[value] = histogram.get(value, 0) + n
    for dim, found in groups.items():
        for key, (totals, firsts, closes) in found.items():
            figures = dict(zip(_FIGURES, totals, strict=True))
            figures["median_first"] = _median(firsts)
            figures["median_close"] = _median(closes)
            result[dim][key] = figures
    result["week"].sort(key=lambda item: (item[0] or dt.date.min, item[1]))
    result["month"].sort(key=lambda item: (item[0] or dt.date.min, item[1] or 0))
    return result


def _median(histogram: dict[int, int]) -> float | None:
    """The median of the values counted in `histogram` (value → how many), interpolated as
    percentile_cont(0.5) does: the middle value, or the mean of the two middle ones."""
    n = sum(histogram.values())
    if not n:
        return None
    low_rank, high_rank = (n - 1) // 2, n // 2
    low = high = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if low is None and seen > low_rank:
            low = value
        if seen > high_rank:
            high = value
            break
    return float(low + (high - low) * 0.5) if low != high else float(low)


def _parse_date(value):
    """Raw SQL on SQLite gives dates as text."""
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _share(part, whole):
    return part / whole * 100 if whole else None


def _ratio(part, whole):
    return part / whole if whole else None
