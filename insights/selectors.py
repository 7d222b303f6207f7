"""Reads for the lots coordinator's dashboard. Every figure is an aggregate in the database and
the number of queries does not depend on the number of cases.

Period figures are about the cases *received* in the period (a cohort): how many, how many of
them were answered within the deadline, the median working days from receipt to first answer
and to closing, transfers. "Now" figures (open, unowned, overdue, waiting for a contribution)
are a snapshot and have no period.
"""

import datetime as dt
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Case, CaseDepartment, CaseOwnershipPeriod, Transfer
from departments.models import Department, ResponsibilityArea
from insights.models import Feedback, WorkingDay
from insights.services import answer_index, grade, nki

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


# --- Tables: one shape for the page, the sorting and the CSV ------------------------------


@dataclass
class Column:
    key: str
    label: str
    kind: str = "int"  # int, num, pct, text, link, date
    sortable: bool = True
    secondary: bool = False  # folded away behind "Visa alla kolumner" on a narrow page


@dataclass
class Table:
    key: str  # also the CSV's name
    title: str
    columns: list[Column]
    rows: list[dict]
    caption: str = ""
    sort: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def shown_columns(self) -> list[Column]:
        """The key figures first, secondary columns after them (the CSV keeps its order)."""
        return sorted(self.columns, key=lambda column: column.secondary)

    @property
    def has_secondary(self) -> bool:
        return any(column.secondary for column in self.columns)

    def sort_by(self, value: str) -> None:
        key = (value or "").lstrip("-")
        if key not in {c.key for c in self.columns if c.sortable}:
            return
        descending = value.startswith("-")

        def sort_key(row):
            item = row.get(key)
            if isinstance(item, dict):
                item = item.get("sort", item.get("text"))
            return (item is None, item if item is not None else 0)

        present = [r for r in self.rows if _plain(r.get(key)) is not None]
        missing = [r for r in self.rows if _plain(r.get(key)) is None]
        present.sort(key=sort_key, reverse=descending)
        self.rows = present + missing
        self.sort = value


def _plain(value):
    if isinstance(value, dict):
        return value.get("sort", value.get("text"))
    return value


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


# --- Snapshot figures ---------------------------------------------------------------------


def _snapshot(cases, today, units):
    """Open, unowned, overdue and waiting-for-a-contribution cases now, per unit and per area.
    Two grouped queries (unit × area), read through the partial index on open cases; the
    totals per unit and per area are sums over those few groups."""
    waiting = Q(status=Case.Status.WAITING_FOR_COMPANY)
    groups = (
        cases.open()
        .values("owning_department", "primary_area")
        .annotate(
            open=Count("id"),
            unowned=Count("id", filter=Q(owner__isnull=True)),
            overdue=Count("id", filter=~waiting & Q(due_at__lt=today)),
        )
        .order_by()
    )
    outstanding = (
        CaseDepartment.objects.filter(requested_at__isnull=False, done_at__isnull=True)
        .exclude(case__status=Case.Status.CLOSED)
        .values("case__owning_department", "case__primary_area")
        .annotate(contributions=Count("case", distinct=True))
        .order_by()
    )
    if units is not None:
        outstanding = outstanding.filter(case__owning_department__in=units)
    by_unit: dict = {}
    by_area: dict = {}
    empty = {"open": 0, "unowned": 0, "overdue": 0, "contributions": 0}
    for row in groups:
        for target, key in ((by_unit, row["owning_department"]), (by_area, row["primary_area"])):
            totals = target.setdefault(key, dict(empty))
            for name in ("open", "unowned", "overdue"):
                totals[name] += row[name]
    for row in outstanding:
        for target, key in (
            (by_unit, row["case__owning_department"]),
            (by_area, row["case__primary_area"]),
        ):
            target.setdefault(key, dict(empty))["contributions"] += row["contributions"]
    return by_unit, by_area


def _declined(period, units):
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    transfers = Transfer.objects.filter(status=Transfer.Status.DECLINED).filter(
        Q(decided_at__gte=cur_from, decided_at__lt=cur_to)
        | Q(decided_at__gte=prev_from, decided_at__lt=prev_to)
    )
    if units is not None:
        transfers = transfers.filter(Q(to_department__in=units) | Q(from_department__in=units))
    current = Q(decided_at__gte=cur_from)
    aggregates = {
        "cur": Count("id", filter=current),
        "prev": Count("id", filter=~current),
    }
    by_unit = {
        row["to_department"]: row
        for row in transfers.values("to_department").annotate(**aggregates).order_by()
    }
    by_area = {
        row["case__primary_area"]: row
        for row in transfers.values("case__primary_area").annotate(**aggregates).order_by()
    }
    return by_unit, by_area


def _time_with_units(period, units, now):
    """Days each unit held cases during the period (ownership periods clipped to it)."""
    cur_from, cur_to, _prev_from, _prev_to = period.bounds()
    until = min(cur_to, now)
    spans = CaseOwnershipPeriod.objects.filter(started_at__lt=until).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=cur_from)
    )
    if units is not None:
        spans = spans.filter(department__in=units)
    rows = (
        spans.values("department")
        .annotate(
            held=Sum(
                Least(Coalesce(F("ended_at"), until), until) - Greatest(F("started_at"), cur_from)
            ),
            cases=Count("case", distinct=True),
        )
        .order_by()
    )
    return {row["department"]: row for row in rows}


# --- Satisfaction -------------------------------------------------------------------------

ITEMS = Feedback.NKI_ITEMS + Feedback.FACTOR_ITEMS
FACTOR_LABELS = {
    "information": gettext_lazy("Information"),
    "accessibility": gettext_lazy("Tillgänglighet"),
    "treatment": gettext_lazy("Bemötande"),
    "competence": gettext_lazy("Kompetens"),
    "legal_certainty": gettext_lazy("Rättssäkerhet"),
    "efficiency": gettext_lazy("Effektivitet"),
}


def _satisfaction(period, units):
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    answers = Feedback.objects.filter(answered_at__isnull=False).filter(
        Q(answered_at__gte=cur_from, answered_at__lt=cur_to)
        | Q(answered_at__gte=prev_from, answered_at__lt=prev_to)
    )
    if units is not None:
        answers = answers.filter(department__in=units)
    current = answers.filter(answered_at__gte=cur_from)
    aggregates = {"n": Count("id"), **{item: Avg(item) for item in ITEMS}}
    result = {}
    for dim, key, queryset in (
        ("unit", "department", current),
        ("area", "area", current),
        ("insikt", "insikt_area", current),
    ):
        result[dim] = {
            row.pop(key): _indices(row)
            for row in queryset.values(key).annotate(**aggregates).order_by()
        }
    is_current = Q(answered_at__gte=cur_from)
    totals = answers.aggregate(
        n_cur=Count("id", filter=is_current),
        n_prev=Count("id", filter=~is_current),
        **{f"{item}_cur": Avg(item, filter=is_current) for item in Feedback.NKI_ITEMS},
        **{f"{item}_prev": Avg(item, filter=~is_current) for item in Feedback.NKI_ITEMS},
        **{f"{item}_cur": Avg(item, filter=is_current) for item in Feedback.FACTOR_ITEMS},
    )
    result["total"] = {
        "cur": _indices({"n": totals["n_cur"], **_suffix(totals, "_cur")}),
        "prev": _indices({"n": totals["n_prev"], **_suffix(totals, "_prev")}),
    }
    return result


def _suffix(values, suffix):
    return {k[: -len(suffix)]: v for k, v in values.items() if k.endswith(suffix)}


def _indices(row):
    """Mean answers → Insikt indices (the index of a mean is the mean of the indices)."""
    out = {"n": row.get("n") or 0}
    out["nki"] = nki([row.get(item) for item in Feedback.NKI_ITEMS])
    for item in Feedback.FACTOR_ITEMS:
        out[item] = answer_index(row.get(item))
    out["uncertain"] = out["n"] < UNCERTAIN_BELOW
    return out


# --- Lists ---------------------------------------------------------------------------------


def _lists(cases, today):
    base = (
        cases.open()
        .select_related("owning_department", "owner")
        .only(
            "reference",
            "subject",
            "is_confidential",
            "status",
            "received_at",
            "due_at",
            "transfer_count",
            "owning_department__name",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )
    )
    return {
        "unowned": list(base.filter(owner__isnull=True).order_by("received_at")[:LIST_LIMIT]),
        "overdue": list(
            base.exclude(status=Case.Status.WAITING_FOR_COMPANY)
            .filter(due_at__lt=today)
            .order_by("due_at", "received_at")[:LIST_LIMIT]
        ),
        "bouncing": list(
            base.filter(transfer_count__gte=2).order_by("-transfer_count", "received_at")[
                :LIST_LIMIT
            ]
        ),
        "oldest": list(base.order_by("received_at")[:LIST_LIMIT]),
        "contributions": list(
            base.filter(
                pk__in=CaseDepartment.objects.filter(
                    requested_at__isnull=False, done_at__isnull=True
                ).values("case_id")
            ).order_by("received_at")[:LIST_LIMIT]
        ),
    }


# --- The dashboard -------------------------------------------------------------------------


@dataclass
class Dashboard:
    period: Period
    units_scope: set[int] | None
    headline: list[dict]
    tables: dict[str, Table]
    lists: dict[str, list]
    intake_weeks: list
    on_time_months: list
    insikt: dict
    departments: dict
    areas: dict
    computed_at: dt.datetime | None = None


def dashboard_scope(user) -> set[int] | None:
    """None: everything (`cases.view_dashboard`, the lots coordinators). A set: the units a
    unit lead leads. Raises PermissionDenied for everyone else."""
    from django.core.exceptions import PermissionDenied

    from cases.permissions import lead_unit_ids

    if user.has_perm("cases.view_dashboard"):
        return None
    leads = lead_unit_ids(user)
    if not leads:
        raise PermissionDenied(_("Översikten är till för lotssamordnare och enhetschefer."))
    return leads


def period_figures(
    *, period: Period, units: set[int] | None, now: dt.datetime, refresh: bool = False
) -> dict:
    """The period's aggregates (the expensive part: they read every case of the period and
    the one before). Kept in the cache for INSIKT_DASHBOARD_CACHE_SECONDS, so a coordinator
    moving around the page does not recompute them; the "now" figures and lists are always
    live. 0 turns the cache off. `refresh` recomputes and stores them whatever the cache
    holds (the background warm-up, `insights.services.dashboard_warm`)."""
    today = timezone.localdate(now)
    seconds = settings.INSIKT_DASHBOARD_CACHE_SECONDS
    scope = "all" if units is None else ",".join(map(str, sorted(units)))
    key = (
        f"insights:period:v1:{scope}:{today}:{period.start}:{period.end}:"
        f"{period.prev_start}:{period.prev_end}"
    )
    if seconds and not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    figures = _period_rows(period, units, today)
    computed = {
        "figures": figures,
        "intake_weeks": figures["week"],
        "on_time_months": figures["month"],
        "declined": _declined(period, units),
        "held": _time_with_units(period, units, now),
        "satisfaction": _satisfaction(period, units),
        "computed_at": now,
    }
    if seconds:
        cache.set(key, computed, seconds)
    return computed


def dashboard(*, user, period: Period, now: dt.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = timezone.localdate(now)
    units = dashboard_scope(user)
    cases = Case.objects.all()
    if units is not None:
        cases = cases.filter(owning_department__in=units)

    departments = {d.pk: d for d in Department.objects.all()}
    areas = {a.pk: a for a in ResponsibilityArea.objects.select_related("owner")}
    snap_unit, snap_area = _snapshot(cases, today, units)
    computed = period_figures(period=period, units=units, now=now)
    figures = computed["figures"]
    declined_unit, declined_area = computed["declined"]
    held = computed["held"]
    satisfaction = computed["satisfaction"]

    cur = figures["total"].get(1, {})
    prev = figures["total"].get(0, {})
    snapshot_total = {
        key: sum(row[key] for row in snap_unit.values())
        for key in ("open", "unowned", "overdue", "contributions")
    }
    declined_cur = sum(row["cur"] for row in declined_unit.values())
    declined_prev = sum(row["prev"] for row in declined_unit.values())
    held_days = sum(_days(row["held"]) for row in held.values())
    held_cases = sum(row["cases"] for row in held.values())
    nki_cur, nki_prev = satisfaction["total"]["cur"], satisfaction["total"]["prev"]

    headline = [
        _figure(
            "received",
            _("Inkomna ärenden"),
            cur.get("received", 0),
            prev.get("received", 0),
            neutral=True,
        ),
        _figure("open", _("Öppna nu"), snapshot_total["open"]),
        _figure(
            "unowned",
            _("Utan helhetsansvarig nu"),
            snapshot_total["unowned"],
            alarm=snapshot_total["unowned"] > 0,
            note=_("Ska vara noll."),
        ),
        _figure("overdue", _("Försenade nu"), snapshot_total["overdue"], lower_is_better=True),
        _figure(
            "median_first",
            _("Median arbetsdagar till första svar"),
            cur.get("median_first"),
            prev.get("median_first"),
            kind="num",
            lower_is_better=True,
        ),
        _figure(
            "median_close",
            _("Median arbetsdagar till avslut"),
            cur.get("median_close"),
            prev.get("median_close"),
            kind="num",
            lower_is_better=True,
        ),
        _figure(
            "on_time",
            _("Andel med första svar i tid"),
            _share(cur.get("on_time", 0), cur.get("decided", 0)),
            _share(prev.get("on_time", 0), prev.get("decided", 0)),
            kind="pct",
        ),
        _figure(
            "transfers",
            _("Överlämningar per ärende"),
            _ratio(cur.get("transfers", 0), cur.get("received", 0)),
            _ratio(prev.get("transfers", 0), prev.get("received", 0)),
            kind="num2",
            lower_is_better=True,
        ),
        _figure(
            "bouncing",
            _("Studsande ärenden (överlämnade två gånger eller fler)"),
            cur.get("bouncing", 0),
            prev.get("bouncing", 0),
            lower_is_better=True,
        ),
        _figure(
            "declined",
            _("Avböjda överlämningar"),
            declined_cur,
            declined_prev,
            lower_is_better=True,
        ),
        _figure(
            "contributions",
            _("Ärenden som väntar på underlag från annan enhet nu"),
            snapshot_total["contributions"],
            lower_is_better=True,
        ),
        _figure(
            "held",
            _("Dagar hos enheterna per ärende under perioden"),
            held_days / held_cases if held_cases else None,
            kind="num",
            lower_is_better=True,
        ),
        _figure(
            "nki",
            _("NKI (nöjd kund-index)"),
            nki_cur["nki"],
            nki_prev["nki"],
            kind="num",
            note=_nki_note(nki_cur),
            alarm=nki_cur["nki"] is not None and round(nki_cur["nki"]) < 62,
        ),
    ]

    unit_ids = sorted(
        set(figures["unit"]) | set(snap_unit) | set(held) | set(declined_unit),
        key=lambda pk: departments[pk].name if pk in departments else "",
    )
    if units is not None:
        unit_ids = [pk for pk in unit_ids if pk in units]
    unit_rows = []
    for pk in unit_ids:
        dept = departments.get(pk)
        if dept is None:
            continue
        row = _row(
            figures["unit"].get(pk, {}),
            snap_unit.get(pk, {}),
            declined_unit.get(pk, {}),
            satisfaction["unit"].get(pk),
        )
        spent = held.get(pk)
        row["held_days"] = round(_days(spent["held"]), 1) if spent else None
        row["held_per_case"] = (
            round(_days(spent["held"]) / spent["cases"], 1) if spent and spent["cases"] else None
        )
        row["name"] = {"text": dept.name, "sort": dept.name}
        row["slug"] = dept.slug
        unit_rows.append(row)

    area_ids = sorted(
        {pk for pk in set(figures["area"]) | set(snap_area) if pk is not None},
        key=lambda pk: areas[pk].name if pk in areas else "",
    )
    area_rows = []
    for pk in area_ids:
        area = areas.get(pk)
        if area is None:
            continue
        row = _row(
            figures["area"].get(pk, {}),
            snap_area.get(pk, {}),
            declined_area.get(pk, {}),
            satisfaction["area"].get(pk),
        )
        row["name"] = {"text": area.name, "sort": area.name}
        row["slug"] = area.slug
        row["owner"] = area.owner.name
        area_rows.append(row)

    insikt_labels = dict(ResponsibilityArea.InsiktArea.choices)
    insikt_rows = []
    for key, values in sorted(satisfaction["insikt"].items(), key=lambda kv: kv[0] or "~"):
        label = insikt_labels.get(key or "", "") if key else _("Utanför Insikt")
        insikt_rows.append(_nki_row({"name": {"text": str(label), "sort": str(label)}}, values))

    tables = {
        "enheter": Table(
            "enheter",
            _("Per enhet"),
            _columns(unit=True),
            unit_rows,
            caption=_("Nyckeltal per ansvarig enhet för ärenden som kom in under perioden."),
        ),
        "omraden": Table(
            "omraden",
            _("Per ansvarsområde"),
            _columns(unit=False),
            area_rows,
            caption=_("Nyckeltal per huvudområde för ärenden som kom in under perioden."),
        ),
        "nki": Table(
            "nki",
            _("Nöjdhet per enhet"),
            _nki_columns(),
            [
                _nki_row(
                    {"name": {"text": departments[pk].name, "sort": departments[pk].name}},
                    values,
                )
                for pk, values in sorted(
                    satisfaction["unit"].items(),
                    key=lambda kv: departments[kv[0]].name if kv[0] in departments else "",
                )
                if pk in departments
            ],
            caption=_("NKI och serviceområdenas index (0–100) för svar under perioden."),
        ),
        "nki-omraden": Table(
            "nki-omraden",
            _("Nöjdhet per ansvarsområde"),
            _nki_columns(),
            [
                _nki_row({"name": {"text": areas[pk].name, "sort": areas[pk].name}}, values)
                for pk, values in sorted(
                    satisfaction["area"].items(),
                    key=lambda kv: areas[kv[0]].name if kv[0] in areas else "",
                )
                if pk in areas
            ],
            caption=_("NKI och serviceområdenas index (0–100) för svar under perioden."),
        ),
        "nki-insikt": Table(
            "nki-insikt",
            _("NKI per Insikt-område"),
            _nki_columns(),
            insikt_rows,
            caption=_("NKI per myndighetsområde enligt SKR:s Insikt, för svar under perioden."),
        ),
    }
    return Dashboard(
        period=period,
        units_scope=units,
        headline=headline,
        tables=tables,
        lists=_lists(cases, today),
        intake_weeks=computed["intake_weeks"],
        on_time_months=computed["on_time_months"],
        computed_at=computed["computed_at"],
        insikt=satisfaction["insikt"],
        departments=departments,
        areas=areas,
    )


def _days(duration) -> float:
    if duration is None:
        return 0.0
    if isinstance(duration, dt.timedelta):
        return duration.total_seconds() / 86400
    return float(duration) / 86_400_000_000  # microseconds (SQLite)


def _nki_note(values) -> str:
    if values["nki"] is None:
        return _("Inga svar under perioden.")
    text = _("%(grade)s, %(n)s svar") % {"grade": grade(values["nki"]), "n": values["n"]}
    if values["uncertain"]:
        text += " – " + _("osäkert (färre än 10 svar)")
    return text


def _figure(
    key,
    label,
    value,
    previous=None,
    *,
    kind="int",
    lower_is_better=False,
    alarm=False,
    note="",
    neutral=False,
):
    change = None
    if previous is not None and value is not None:
        change = value - previous
    better = None
    if change and not neutral:
        better = (change < 0) if lower_is_better else (change > 0)
    return {
        "key": key,
        "label": label,
        "value": value,
        "previous": previous,
        "change": change,
        "better": better,
        "kind": kind,
        "alarm": alarm,
        "note": note,
        "has_previous": previous is not None
        or key in {"received", "bouncing", "declined", "median_first", "median_close", "on_time"},
    }


def _row(fig, snap, declined, satisfaction):
    received = fig.get("received", 0)
    row = {
        "received": received,
        "open": snap.get("open", 0),
        "unowned": snap.get("unowned", 0),
        "overdue": snap.get("overdue", 0),
        "median_first": fig.get("median_first"),
        "median_close": fig.get("median_close"),
        "on_time": _round(_share(fig.get("on_time", 0), fig.get("decided", 0))),
        "transfers": _round(_ratio(fig.get("transfers", 0), received), 2),
        "bouncing": fig.get("bouncing", 0),
        "declined": declined.get("cur", 0),
        "contributions": snap.get("contributions", 0),
        "nki": _round(satisfaction["nki"]) if satisfaction else None,
        "nki_n": satisfaction["n"] if satisfaction else 0,
        "uncertain": bool(satisfaction and satisfaction["uncertain"]),
    }
    return row


def _round(value, digits=1):
    return round(value, digits) if value is not None else None


def _columns(*, unit: bool) -> list[Column]:
    columns = [
        Column("name", _("Enhet") if unit else _("Ansvarsområde"), "text"),
    ]
    if not unit:
        columns.append(Column("owner", _("Ägande enhet"), "text"))
    columns += [
        Column("received", _("Inkomna"), secondary=True),
        Column("open", _("Öppna nu")),
        Column("unowned", _("Utan helhetsansvarig")),
        Column("overdue", _("Försenade")),
        Column("median_first", _("Median arbetsdagar till första svar"), "num"),
        Column("median_close", _("Median arbetsdagar till avslut"), "num"),
        Column("on_time", _("Första svar i tid (%)"), "num"),
        Column("transfers", _("Överlämningar per ärende"), "num", secondary=True),
        Column("bouncing", _("Studsande")),
        Column("declined", _("Avböjda överlämningar"), secondary=True),
        Column("contributions", _("Väntar på underlag"), secondary=True),
    ]
    if unit:
        columns += [
            Column("held_days", _("Dagar hos enheten"), "num", secondary=True),
            Column("held_per_case", _("Dagar per ärende"), "num"),
        ]
    columns += [
        Column("nki", _("NKI"), "num"),
        Column("nki_n", _("Antal svar"), secondary=True),
    ]
    return columns


def _nki_columns() -> list[Column]:
    return [
        Column("name", _("Namn"), "text"),
        Column("n", _("Antal svar")),
        Column("nki", _("NKI"), "num"),
        Column("grade", _("Betyg"), "text"),
        *[
            Column(item, str(FACTOR_LABELS[item]), "num", secondary=True)
            for item in Feedback.FACTOR_ITEMS
        ],
        Column("uncertain", _("Osäkert (färre än 10 svar)"), "text", secondary=True),
    ]


def _nki_row(row, values):
    row.update(
        {
            "n": values["n"],
            "nki": _round(values["nki"]),
            "grade": grade(values["nki"]),
            **{item: _round(values[item]) for item in Feedback.FACTOR_ITEMS},
            "uncertain": _("ja") if values["uncertain"] else _("nej"),
            "is_uncertain": values["uncertain"],
        }
    )
    return row


# --- Case lists for CSV -------------------------------------------------------------------


def case_list(*, user, params):
    """The cases `user` may see, filtered as the staff case list filters them: the list's own
    parameters (q, status, unit, area, owner as ids, unowned, overdue, channel,
    received_from/received_to) are passed to its filter form and search, so a CSV link can
    repeat the list's query string. Also accepted: unit and area as slugs, owner as a user name
    (or "ingen"), from/to for the dates received."""
    from django.core.exceptions import ValidationError

    from cases.forms_staff import CaseFilterForm
    from cases.selectors_staff import search_cases

    data = params.copy()
    for ours, theirs in (("from", "received_from"), ("to", "received_to")):
        if data.get(ours) and not data.get(theirs):
            data[theirs] = data[ours]
    slugs = (("unit", Department, "slug"), ("area", ResponsibilityArea, "slug"))
    for name, model, field_name in slugs:
        value = data.get(name, "")
        if value and not value.isdigit():
            found = model.objects.filter(**{field_name: value}).values_list("pk", flat=True)
            data[name] = str(found[0]) if found else "0"
    owner = data.get("owner", "")
    if owner == "ingen":
        data["owner"], data["unowned"] = "", "on"
    elif owner and not owner.isdigit():
        from django.contrib.auth import get_user_model

        found = get_user_model().objects.filter(username=owner).values_list("pk", flat=True)
        data["owner"] = str(found[0]) if found else "0"
    if data.get("overdue") in {"0", "false", "nej"}:
        data.pop("overdue")
    form = CaseFilterForm(data)
    if not form.is_valid():
        raise ValidationError(
            [
                f"{form.fields[name].label}: {' '.join(errors)}"
                if name in form.fields
                else " ".join(errors)
                for name, errors in form.errors.items()
            ]
        )
    filters = {key: value for key, value in form.cleaned_data.items() if key != "q"}
    cases = search_cases(user, filters=filters, query=form.cleaned_data.get("q") or "")
    return cases.select_related("company", "owning_department", "owner", "primary_area")


def insikt_cases(*, period: Period, insikt_area: str = ""):
    """Closed cases in Insikt areas, closed during the period (for the Insikt supplier)."""
    cur_from, cur_to, _prev_from, _prev_to = period.bounds()
    cases = (
        Case.objects.closed()
        .filter(closed_at__gte=cur_from, closed_at__lt=cur_to, anonymised_at__isnull=True)
        .exclude(insikt_area="")
        .select_related("company", "owning_department", "primary_area")
        .order_by("insikt_area", "closed_at")
    )
    if insikt_area:
        cases = cases.filter(insikt_area=insikt_area)
    return cases
