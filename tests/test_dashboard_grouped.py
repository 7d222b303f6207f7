"""The dashboard's satisfaction figures, time per unit and case lists, read with fewer and
cheaper queries (one statement for the satisfaction figures, plain values for the lists), are
the same as computed the plain way: a query per grouping, and from the model instances."""

import datetime as dt
import random

import pytest
import time_machine
from django.db.models import Avg, Count, Q
from django.utils import timezone

from cases.models import Case, CaseOwnershipPeriod
from cases.ownership import mark_returns
from cases.services.work.closing import case_close, case_reopen
from cases.services.work.transfers import case_transfer_accept, case_transfer_offer
from insights.models import Feedback
from insights.periods import parse_period
from insights.satisfaction import _satisfaction
from insights.selectors import _lists, _time_with_units
from insights.tables import _days, _indices, _suffix
from tests.factories import (
    AreaFactory,
    CaseFactory,
    DepartmentFactory,
    UserFactory,
    coordinator,
    officer,
)

TODAY = dt.date(2026, 3, 18)  # a Wednesday
ITEMS = Feedback.NKI_ITEMS + Feedback.FACTOR_ITEMS
PERIODS = [
    {"period": "week"},
    {"period": "month"},
    {"period": "quarter"},
    {"period": "year"},
    {"period": "custom", "from": "2025-11-20", "to": "2026-02-10"},  # over New Year
]


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def reference_satisfaction(period, units):
    """The satisfaction figures as four queries over both periods (the computation before)."""
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
    for dim, key in (("unit", "department"), ("area", "area"), ("insikt", "insikt_area")):
        result[dim] = {
            row.pop(key): _indices(row)
            for row in current.values(key).annotate(**aggregates).order_by()
        }
    is_current = Q(answered_at__gte=cur_from)
    totals = answers.aggregate(
        n_cur=Count("id", filter=is_current),
        n_prev=Count("id", filter=~is_current),
        **{f"{item}_cur": Avg(item, filter=is_current) for item in ITEMS},
        **{f"{item}_prev": Avg(item, filter=~is_current) for item in Feedback.NKI_ITEMS},
    )
    result["total"] = {
        "cur": _indices({"n": totals["n_cur"], **_suffix(totals, "_cur")}),
        "prev": _indices({"n": totals["n_prev"], **_suffix(totals, "_prev")}),
    }
    return result


def reference_held(period, units, now):
    """Time per unit from the ownership periods in Python: each period clipped to the
    period shown, summed per unit, and the distinct cases per unit."""
    cur_from, cur_to, _prev_from, _prev_to = period.bounds()
    until = min(cur_to, now)
    held: dict = {}
    for span in CaseOwnershipPeriod.objects.all():
        end = min(span.ended_at or until, until)
        ended_before = span.ended_at is not None and span.ended_at <= cur_from
        if span.started_at >= until or ended_before:
            continue
        if units is not None and span.department_id not in units:
            continue
        row = held.setdefault(span.department_id, {"seconds": 0.0, "cases": set()})
        row["seconds"] += (end - max(span.started_at, cur_from)).total_seconds()
        row["cases"].add(span.case_id)
    return {pk: (round(row["seconds"]), len(row["cases"])) for pk, row in held.items()}


@pytest.fixture
def answers(db):
    """~400 answers over 16 months from three units, four areas (two in Insikt areas, one
    without an area) and a unit since removed; some items left unanswered; some surveys
    never answered."""
    rnd = random.Random(14)
    units = [DepartmentFactory(slug=f"enhet-{n}", name=f"Enhet {n}") for n in range(3)]
    areas = [AreaFactory(slug=f"omrade-{n}", owner=units[n % 3]) for n in range(4)]
    case = CaseFactory(owning_department=units[0])
    for index in range(400):
        area = rnd.choice([*areas, None])
        answered = at(TODAY - dt.timedelta(days=rnd.randrange(0, 480)), rnd.choice([0, 9, 23]))
        values = {item: rnd.choice([1, 2, 3, 4, 5, 6, 6, 5, None]) for item in ITEMS}
        Feedback.objects.create(
            case=case,
            email=f"svar{index}@example.se",
            department=rnd.choice([*units, None]),
            area=area,
            insikt_area=rnd.choice(["bygglov", "livsmedel", ""]),
            answered_at=None if index % 11 == 0 else answered,
            expires_at=answered + dt.timedelta(days=60),
            **values,
        )
    return units


def test_satisfaction_figures_equal_a_query_per_grouping(answers):
    units = answers
    with time_machine.travel(at(TODAY, 10), tick=False):
        for params in PERIODS:
            period = parse_period(params, today=TODAY)
            for scope in (None, {units[0].pk}, {units[1].pk, units[2].pk}, set()):
                expected = reference_satisfaction(period, scope)
                assert _satisfaction(period, scope) == expected, (params, scope)
    # Not vacuous: the year has answers in every grouping and in the period before.
    year = _satisfaction(parse_period({"period": "year"}, today=TODAY), None)
    assert len(year["unit"]) == 4 and len(year["area"]) == 5 and len(year["insikt"]) == 3
    assert year["total"]["cur"]["n"] > 50 and year["total"]["prev"]["n"] > 50


def hopping_cases(units, now):
    """41 cases with up to four ownership periods each, some between the same two units."""
    rnd = random.Random(7)
    for _index in range(40):
        case = CaseFactory(owning_department=units[0])
        moment = at(TODAY - dt.timedelta(days=rnd.randrange(0, 400)), rnd.choice([8, 13, 23]))
        # Some cases go back and forth between two units (the same unit twice).
        for hop in range(rnd.choice([1, 1, 2, 3, 4])):
            end = moment + dt.timedelta(hours=rnd.randrange(2, 24 * 40))
            still_open = end > now or (hop == 3 and rnd.random() < 0.5)
            CaseOwnershipPeriod.objects.create(
                case=case,
                department=units[hop % 2] if hop else rnd.choice(units),
                started_at=moment,
                ended_at=None if still_open else end,
            )
            if still_open:
                break
            moment = end
    # Back with a unit it left exactly when this month began: counted in the month once.
    case = CaseFactory(owning_department=units[0])
    month_start = at(TODAY.replace(day=1), 0)
    for department, started, ended in (
        (units[0], month_start - dt.timedelta(days=3), month_start),
        (units[1], month_start, month_start + dt.timedelta(days=2)),
        (units[0], month_start + dt.timedelta(days=2), None),
    ):
        CaseOwnershipPeriod.objects.create(
            case=case, department=department, started_at=started, ended_at=ended
        )


def assert_same_time_per_unit(units, now):
    for params in PERIODS:
        period = parse_period(params, today=TODAY)
        for scope in (None, {units[0].pk}, {units[1].pk, units[2].pk}):
            found = {
                pk: (round(_days(row["held"]) * 86400), row["cases"])
                for pk, row in _time_with_units(period, scope, now).items()
            }
            assert found == reference_held(period, scope, now), (params, scope)


def test_time_per_unit_counts_a_case_back_with_a_unit_once(db):
    units = [DepartmentFactory(slug=f"enhet-{n}", name=f"Enhet {n}") for n in range(3)]
    now = at(TODAY, 10)
    hopping_cases(units, now)
    assert CaseOwnershipPeriod.objects.filter(returned_after__isnull=False).count() > 5
    assert_same_time_per_unit(units, now)


def test_periods_written_past_save_are_marked_by_the_backfill_as_save_marks_them(db):
    units = [DepartmentFactory(slug=f"enhet-{n}", name=f"Enhet {n}") for n in range(3)]
    now = at(TODAY, 10)
    hopping_cases(units, now)
    marked = dict(CaseOwnershipPeriod.objects.values_list("pk", "returned_after"))
    # As COPY or a bulk insert leaves them (the migration's starting point; it runs this).
    CaseOwnershipPeriod.objects.update(returned_after=None)
    assert mark_returns() == sum(value is not None for value in marked.values())
    mark_returns()  # twice: the same
    assert dict(CaseOwnershipPeriod.objects.values_list("pk", "returned_after")) == marked
    assert_same_time_per_unit(units, now)


def test_time_per_unit_follows_transfers_back_and_reopening(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    units = [DepartmentFactory(slug=f"enhet-{n}", name=f"Enhet {n}") for n in range(3)]
    lotsen = coordinator()
    day = TODAY - dt.timedelta(days=20)
    case = CaseFactory(owning_department=units[0], received_at=at(day, 9))
    CaseOwnershipPeriod.objects.create(case=case, department=units[0], started_at=at(day, 9))
    # To unit 1 and back to unit 0 (twice with unit 0), closed and reopened (unit 0 again).
    for hour, to_unit in ((10, units[1]), (12, units[0])):
        with time_machine.travel(at(day, hour), tick=False):
            transfer = case_transfer_offer(
                case_id=case.pk, actor=lotsen, to_department=to_unit, reason="Er fråga."
            )
        with time_machine.travel(at(day, hour + 1), tick=False):
            case_transfer_accept(transfer_id=transfer.pk, actor=officer(to_unit))
    with time_machine.travel(at(day + dt.timedelta(days=2), 9), tick=False):
        case_close(case_id=case.pk, actor=lotsen, body="Klart.")
    with time_machine.travel(at(day + dt.timedelta(days=9), 9), tick=False):
        case_reopen(case_id=case.pk, actor=lotsen, reason="Fler frågor.")
    assert list(
        CaseOwnershipPeriod.objects.order_by("pk").values_list("department", "returned_after")
    ) == [
        (units[0].pk, None),
        (units[1].pk, None),
        (units[0].pk, at(day, 11)),
        (units[0].pk, at(day + dt.timedelta(days=2), 9)),
    ]
    now = at(TODAY, 10)
    assert_same_time_per_unit(units, now)
    quarter = _time_with_units(parse_period({"period": "quarter"}, today=TODAY), None, now)
    assert quarter[units[0].pk]["cases"] == 1 and quarter[units[1].pk]["cases"] == 1


def test_case_lists_show_the_officer_by_name_or_user_name(db):
    unit = DepartmentFactory(name="Bygglov")
    named = UserFactory(username="anna.b", first_name="Anna", last_name="Berg")
    unnamed = UserFactory(username="handlaggare7", first_name="", last_name="")
    day = timezone.localdate()
    cases = [
        CaseFactory(owning_department=unit, owner=owner, received_at=at(day, 8 + index))
        for index, owner in enumerate([named, unnamed, None])
    ]
    oldest = _lists(Case.objects.all(), day)["oldest"]
    assert [(case.pk, case.owner, case.unit) for case in oldest] == [
        (cases[0].pk, "Anna Berg", "Bygglov"),
        (cases[1].pk, "handlaggare7", "Bygglov"),
        (cases[2].pk, None, "Bygglov"),
    ]
    assert [case.pk for case in _lists(Case.objects.all(), day)["unowned"]] == [cases[2].pk]
