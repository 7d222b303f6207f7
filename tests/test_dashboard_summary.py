"""The dashboard's per-case summary (insights.summary): the period figures read from it are the
same as the figures computed from the cases and the calendar directly (the computation the
dashboard made before the summary existed), however the cases change afterwards."""

import datetime as dt
import random

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case, Transfer
from cases.services.work.closing import case_close, case_reopen
from cases.services.work.messages import case_reply
from cases.services.work.transfers import case_transfer_accept, case_transfer_offer
from insights.models import CaseFigures, fill_working_days
from insights.periods import _db_datetime, _parse_date, parse_period
from insights.periods import _period_rows as period_rows
from insights.selectors import _declined
from insights.summary import summarise_cases
from records.retention import anonymise_case
from tests.factories import (
    AreaFactory,
    CaseFactory,
    DepartmentFactory,
    coordinator,
    officer,
    submit_question,
)

TODAY = dt.date(2026, 3, 18)  # a Wednesday


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


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


def _median_sql(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {expression})"
    connection.ensure_connection()
    connection.connection.create_aggregate("fl_median", 1, _SqliteMedian)
    return f"fl_median({expression})"


def reference_rows(period, units, today):
    """The period figures as the dashboard computed them before the summary: from the cases,
    with the calendar joined for every case of the period."""
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    tz = timezone.get_current_timezone_name()
    casts, cast_params = [], []
    for column in ("c.received_at", "c.first_answered_at", "c.closed_at"):
        sql, params = connection.ops.datetime_cast_date_sql(column, [], tz)
        casts.append(sql)
        cast_params += list(params)
    unit_filter, unit_params = "", []
    if units is not None:
        ids = sorted(units) or [-1]
        unit_filter = f" AND c.owning_department_id IN ({', '.join(['%s'] * len(ids))})"
        unit_params = ids
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
    sql = f"""
        WITH base AS (
            SELECT c.owning_department_id AS unit, c.primary_area_id AS area,
                   c.channel AS channel,
                   CASE WHEN c.received_at >= %s THEN 1 ELSE 0 END AS cur,
                   c.first_answer_due AS first_answer_due, c.transfer_count AS transfer_count,
                   rd.ordinal AS r_ord, rd.week_start AS r_week, rd.month_start AS r_month,
                   fd.date AS f_date, fd.ordinal AS f_ord, cd.ordinal AS c_ord
            FROM cases_case c
            LEFT JOIN insights_workingday rd ON rd.date = {casts[0]}
            LEFT JOIN insights_workingday fd ON fd.date = {casts[1]}
            LEFT JOIN insights_workingday cd ON cd.date = {casts[2]}
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
        *cast_params,
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
        elif dim == "month":
            result["month"].append((_parse_date(day), key, on_time or 0, decided or 0))
        else:
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


PERIODS = [
    {"period": "week"},
    {"period": "month"},
    {"period": "quarter"},
    {"period": "year"},
    {"period": "custom", "from": "2025-11-20", "to": "2026-02-10"},  # over New Year
]


def reference_declined(period, units):
    """Declined transfers per unit and per area as two queries joining the cases (before)."""
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    transfers = Transfer.objects.filter(status=Transfer.Status.DECLINED).filter(
        Q(decided_at__gte=cur_from, decided_at__lt=cur_to)
        | Q(decided_at__gte=prev_from, decided_at__lt=prev_to)
    )
    if units is not None:
        transfers = transfers.filter(Q(to_department__in=units) | Q(from_department__in=units))
    current = Q(decided_at__gte=cur_from)
    counts = {"cur": Count("id", filter=current), "prev": Count("id", filter=~current)}
    return tuple(
        {
            row.pop(key): row
            for row in transfers.values(key).annotate(**counts).order_by()
            if row["cur"] or row["prev"]
        }
        for key in ("to_department", "case__primary_area")
    )


def assert_same_figures(units_scopes=(None,)):
    for params in PERIODS:
        period = parse_period(params, today=TODAY)
        for units in units_scopes:
            expected = reference_rows(period, units, TODAY)
            assert period_rows(period, units, TODAY) == expected, (params, units)
            assert _declined(period, units) == reference_declined(period, units)


@pytest.fixture
def frozen():
    with time_machine.travel(at(TODAY, 10), tick=False):
        yield


@pytest.fixture
def varied(db, frozen):
    """~160 cases over the last 16 months: three units, four areas, every channel, answered
    in time, late and not at all, closed and open, received on weekends, late in the evening
    (another date in UTC) and on holidays, transferred up to three times."""
    rnd = random.Random(14)
    units = [DepartmentFactory(slug=f"enhet-{n}", name=f"Enhet {n}") for n in range(3)]
    areas = [AreaFactory(slug=f"omrade-{n}", owner=units[n % 3]) for n in range(4)]
    channels = [choice for choice, _label in Case.Channel.choices]
    cases = []
    for index in range(160):
        received_on = TODAY - dt.timedelta(days=rnd.randrange(0, 480))
        received = at(received_on, rnd.choice([0, 8, 13, 23]))
        answered = (
            received + dt.timedelta(days=rnd.randrange(0, 12), hours=rnd.randrange(0, 10))
            if rnd.random() < 0.8
            else None
        )
        closed = (
            (answered or received) + dt.timedelta(days=rnd.randrange(0, 30))
            if rnd.random() < 0.6
            else None
        )
        if answered and answered > timezone.now():
            answered = None
        if closed and closed > timezone.now():
            closed = None
        area = rnd.choice(areas + [None])
        cases.append(
            CaseFactory(
                owning_department=rnd.choice(units),
                primary_area=area,
                channel=channels[index % len(channels)],
                received_at=received,
                first_answer_due=received_on + dt.timedelta(days=rnd.randrange(1, 6)),
                first_answered_at=answered,
                closed_at=closed,
                status=Case.Status.CLOSED if closed else Case.Status.IN_PROGRESS,
                transfer_count=rnd.choice([0, 0, 0, 1, 2, 3]),
            )
        )
    for index, case in enumerate(cases[::7]):
        others = [u for u in units if u.pk != case.owning_department_id]
        decided = case.received_at + dt.timedelta(hours=5 + index)
        Transfer.objects.create(
            case=case,
            from_department=case.owning_department,
            to_department=others[index % 2],
            reason="Hör till er?",
            status=Transfer.Status.DECLINED if index % 4 else Transfer.Status.ACCEPTED,
            decided_at=min(decided, timezone.now()),
        )
    return units, areas, cases


def test_figures_from_the_summary_equal_the_figures_from_the_cases(varied):
    units, _areas, _cases = varied
    assert CaseFigures.objects.count() == Case.objects.count() == 160
    assert_same_figures(units_scopes=(None, {units[0].pk}, {units[1].pk, units[2].pk}, set()))


def test_the_summary_follows_the_cases_through_the_services(varied, settings):
    units, areas, cases = varied
    settings.CELERY_TASK_ALWAYS_EAGER = True
    lotsen = coordinator()
    recent = [c for c in cases if c.received_at.date() >= dt.date(2026, 3, 1)]
    open_cases = [c for c in recent if c.closed_at is None]
    # A first answer and a closing today, a reopening, a transfer accepted by another unit.
    unanswered = next(c for c in open_cases if c.first_answered_at is None)
    case_reply(case_id=unanswered.pk, actor=lotsen, body="Här är svaret.")
    case_close(case_id=open_cases[-1].pk, actor=lotsen, body="Klart.")
    closed = next(c for c in cases if c.closed_at is not None)
    case_reopen(case_id=closed.pk, actor=lotsen, reason="Fler frågor.")
    moving = open_cases[0]
    to_unit = next(u for u in units if u.pk != moving.owning_department_id)
    transfer = case_transfer_offer(
        case_id=moving.pk, actor=lotsen, to_department=to_unit, reason="Er fråga."
    )
    case_transfer_accept(transfer_id=transfer.pk, actor=officer(to_unit))
    moving.refresh_from_db()
    assert moving.owning_department_id == to_unit.pk

    assert_same_figures(units_scopes=(None, {to_unit.pk}))


def test_the_summary_follows_saves_deletions_and_gallring(varied):
    units, areas, cases = varied
    # Changed after it was summarised: received date, area, unit, answer, channel, transfers.
    first, second, third = cases[:3]
    first.received_at = at(TODAY - dt.timedelta(days=3), 9)
    first.primary_area = areas[3]
    first.save()
    second.first_answered_at = at(TODAY, 8)
    second.transfer_count = 4
    second.save(update_fields=["first_answered_at", "transfer_count", "updated_at"])
    third.owning_department = units[2]
    third.channel = Case.Channel.VISIT
    third.save(update_fields=["owning_department", "channel", "updated_at"])
    # Gallring anonymises a closed case (it stays in the figures); a deleted case leaves them.
    closed = [c for c in cases[3:] if c.closed_at is not None]
    assert anonymise_case(case_id=closed[0].pk) is not None
    closed[1].delete()

    assert not CaseFigures.objects.filter(case_id=closed[1].pk).exists()
    assert_same_figures(units_scopes=(None, {units[2].pk}))


def test_writes_past_save_are_caught_up_by_the_command_run_twice(varied, capsys):
    _units, _areas, cases = varied
    Case.objects.filter(pk=cases[5].pk).update(
        received_at=at(TODAY, 9), first_answered_at=at(TODAY, 11), transfer_count=2
    )
    CaseFigures.objects.filter(pk=cases[6].pk).delete()
    period = parse_period({"period": "month"}, today=TODAY)
    assert period_rows(period, None, TODAY) != reference_rows(period, None, TODAY)

    call_command("summarise_cases")
    before = list(CaseFigures.objects.order_by("pk").values())
    call_command("summarise_cases")

    assert "160 ärenden sammanfattade" in capsys.readouterr().out
    assert list(CaseFigures.objects.order_by("pk").values()) == before
    assert_same_figures()


def test_a_rebuilt_calendar_rederives_the_working_days(varied, monkeypatch):
    from cases import deadlines

    # A new holiday a month ago: every later ordinal moves by one.
    holiday = TODAY - dt.timedelta(days=29)
    usual = deadlines.is_working_day
    monkeypatch.setattr(deadlines, "is_working_day", lambda day: day != holiday and usual(day))
    before = parse_period({"period": "quarter"}, today=TODAY)
    old = period_rows(before, None, TODAY)

    fill_working_days(2024, 2027)

    assert period_rows(before, None, TODAY) != old
    assert_same_figures()


def test_a_save_that_changes_nothing_summarised_writes_no_summary(varied):
    _units, _areas, cases = varied
    case = cases[0]
    case.status = Case.Status.WAITING_FOR_COMPANY
    with CaptureQueriesContext(connection) as queries:
        case.save(update_fields=["status", "updated_at"])
    assert len(queries.captured_queries) == 1
    case.transfer_count += 1
    with CaptureQueriesContext(connection) as queries:
        case.save(update_fields=["transfer_count", "updated_at"])
    assert len(queries.captured_queries) == 2
    assert CaseFigures.objects.get(pk=case.pk).transfer_count == case.transfer_count


def test_a_question_from_the_public_form_is_in_the_figures_at_once(client, norrtalje, settings):
    # Whatever intake writes with, the new case must be summarised in its transaction (if
    # intake stops going through Case.save, it must call summarise_cases itself).
    settings.FORM_MIN_FILL_SECONDS = 0
    settings.RATELIMIT_ENABLED = False
    response = submit_question(client)

    assert response.status_code == 302
    case = Case.objects.get()
    figures = CaseFigures.objects.get(pk=case.pk)
    assert (figures.unit_id, figures.area_id, figures.channel) == (
        case.owning_department_id,
        case.primary_area_id,
        case.channel,
    )
    assert figures.received_ordinal is not None


def test_many_cases_are_summarised_in_batches(varied, monkeypatch):
    from insights import summary

    _units, _areas, cases = varied
    CaseFigures.objects.all().delete()
    monkeypatch.setattr(summary, "BATCH", 50)

    assert summarise_cases(case.pk for case in cases) == len(cases)
    assert_same_figures()
