"""Swedish working days, the stopped clock while waiting, and extending a deadline."""

import datetime as dt
import random
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases.deadlines import (
    add_working_days,
    is_working_day,
    next_working_day,
    overdue_cutoff,
    previous_working_day,
    start_day,
    working_days_between,
)
from cases.models import Case, CaseEvent, CaseFollower
from cases.services.company import case_company_message
from cases.services.deadlines import case_extend_deadline
from tests.factories import CaseFactory, DepartmentFactory, officer

STHLM = zoneinfo.ZoneInfo("Europe/Stockholm")
D = dt.date


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=STHLM)


# --- The calendar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, name",
    [
        (D(2026, 4, 3), "långfredag"),
        (D(2026, 4, 6), "annandag påsk"),
        (D(2026, 5, 1), "första maj"),
        (D(2026, 5, 14), "Kristi himmelsfärdsdag"),
        (D(2026, 6, 19), "midsommarafton"),
        (D(2026, 12, 24), "julafton"),
        (D(2026, 12, 25), "juldagen"),
        (D(2026, 12, 31), "nyårsafton"),
        (D(2027, 1, 1), "nyårsdagen"),
        (D(2027, 1, 6), "trettondedag jul"),
        (D(2027, 6, 25), "midsommarafton 2027"),
        (D(2027, 12, 24), "julafton 2027 (fredag)"),
    ],
)
def test_holidays_and_the_afton_days_are_not_working_days(day, name):
    assert not is_working_day(day), name


def test_the_public_holidays_are_the_holidays_packages_from_2005_on():
    """The portal computes Sweden's holidays itself (the package costs every web process
    ~18 MiB); the `holidays` package is the reference, and is still asked before 2005."""
    import holidays

    from cases.deadlines import public_holidays

    for year in range(2005, 2101):
        expected = set(holidays.Sweden(years=year, include_sundays=False))
        assert public_holidays(year) == expected, year
    assert D(2004, 5, 31) in public_holidays(2004)  # annandag pingst, a holiday until 2004


def test_serving_the_calendar_does_not_load_the_holidays_package():
    import subprocess
    import sys

    code = (
        "import sys, django; django.setup(); from cases.deadlines import add_working_days; "
        "import datetime as dt; add_working_days(dt.date.today(), 10); "
        "print('holidays' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ordinary_weekdays_are_working_days_and_weekends_are_not():
    assert is_working_day(D(2026, 11, 26))  # a Thursday
    assert not is_working_day(D(2026, 11, 28))  # Saturday
    assert not is_working_day(D(2026, 11, 29))  # Sunday
    assert is_working_day(D(2026, 12, 23))  # the day before julafton is a normal day


def test_easter_is_skipped():
    # Maundy Thursday 2 April 2026: Good Friday, Easter Saturday, Sunday and Monday are off.
    assert add_working_days(D(2026, 4, 2), 1) == D(2026, 4, 7)
    assert add_working_days(D(2026, 4, 7), -1) == D(2026, 4, 2)
    assert working_days_between(D(2026, 4, 2), D(2026, 4, 7)) == 1


def test_ascension_day_is_skipped():
    assert add_working_days(D(2026, 5, 13), 1) == D(2026, 5, 15)
    assert add_working_days(D(2026, 5, 13), 3) == D(2026, 5, 19)


def test_midsummer_eve_is_skipped():
    assert add_working_days(D(2026, 6, 18), 1) == D(2026, 6, 22)
    assert next_working_day(D(2026, 6, 18)) == D(2026, 6, 22)


def test_christmas_to_epiphany_over_the_year_boundary():
    assert add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 28)
    assert add_working_days(D(2026, 12, 30), 1) == D(2027, 1, 4)
    # 28, 29, 30 December, 4, 5 and 7 January: 6 working days, epiphany (6 Jan) is off.
    assert working_days_between(D(2026, 12, 23), D(2027, 1, 7)) == 6
    assert add_working_days(D(2026, 12, 23), 6) == D(2027, 1, 7)
    assert previous_working_day(D(2027, 1, 4)) == D(2026, 12, 30)


def test_a_year_boundary_on_a_weekend():
    # Nyårsafton 2027 is a Friday, nyårsdagen a Saturday.
    assert add_working_days(D(2027, 12, 30), 1) == D(2028, 1, 3)
    assert working_days_between(D(2027, 12, 30), D(2028, 1, 3)) == 1


def test_a_case_received_on_friday_evening_counts_from_monday():
    friday_evening = at(2026, 11, 27, 17, 30)
    assert start_day(friday_evening) == D(2026, 11, 30)
    assert add_working_days(friday_evening, 2) == D(2026, 12, 2)
    # The same Friday morning counts from Friday.
    assert add_working_days(at(2026, 11, 27, 9, 0), 2) == D(2026, 12, 1)


def test_the_end_of_the_working_day_is_a_setting_read_when_counting(settings):
    half_past_three = at(2026, 11, 27, 15, 30)
    assert start_day(half_past_three) == D(2026, 11, 27)
    settings.WORKDAY_END_HOUR = 15
    assert start_day(half_past_three) == D(2026, 11, 30)


def test_a_case_received_on_a_holiday_counts_from_the_next_working_day():
    epiphany = at(2027, 1, 6, 10, 0)
    assert start_day(epiphany) == D(2027, 1, 7)
    assert add_working_days(epiphany, 1) == D(2027, 1, 8)


def test_counting_backwards_gives_negative_numbers():
    assert working_days_between(D(2027, 1, 7), D(2026, 12, 23)) == -6
    assert working_days_between(D(2026, 11, 26), D(2026, 11, 26)) == 0


def _naive_between(a, b):
    count, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count


def test_the_cached_calendar_agrees_with_counting_day_by_day():
    rng = random.Random(5)
    for _ in range(300):
        a = D(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 3000))
        b = a + dt.timedelta(days=rng.randrange(0, 60))
        n = rng.randrange(0, 30)
        assert working_days_between(a, b) == _naive_between(a, b)
        result = add_working_days(a, n)
        assert is_working_day(result)
        assert working_days_between(start_day(a), result) == n


def test_dates_far_away_are_counted_too():
    assert working_days_between(D(2090, 12, 23), D(2091, 1, 7)) == _naive_between(
        D(2090, 12, 23), D(2091, 1, 7)
    )
    assert add_working_days(D(1999, 12, 30), 1) == D(2000, 1, 3)


def test_overdue_cutoff_is_the_last_date_that_far_back():
    for today in (D(2026, 12, 28), D(2027, 1, 7), D(2026, 4, 7), D(2026, 11, 26)):
        for days in (1, 2, 3, 5, 10):
            cutoff = overdue_cutoff(today, days)
            assert working_days_between(cutoff, today) >= days
            assert working_days_between(cutoff + dt.timedelta(days=1), today) < days


# --- The clock stops while waiting for the company --------------------------------------------


@pytest.fixture
def unit(db):
    return DepartmentFactory(slug="bygglov", name="Bygglov", email="bygglov@norrtalje.se")


@pytest.fixture
def owner(unit):
    return officer(unit, username="anna")


def test_a_reply_from_the_company_moves_the_deadline_by_the_working_days_waited(owner, unit):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):  # Monday
        case = CaseFactory(
            owning_department=unit,
            owner=owner,
            status=Case.Status.WAITING_FOR_COMPANY,
            waiting_since=at(2026, 11, 23, 10, 0),
            first_answered_at=at(2026, 11, 23, 10, 0),
            due_at=D(2026, 12, 4),
        )
    follower = CaseFollower.objects.get(case=case)
    with time_machine.travel(at(2026, 11, 26, 14, 0), tick=False):  # Thursday: 3 days waited
        case_company_message(follower_id=follower.pk, body="Här är ritningen.")

    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    assert case.waiting_since is None
    assert case.due_at == D(2026, 12, 9)  # 4 Dec + 3 working days (Mon 7, Tue 8, Wed 9)
    assert case.events.filter(kind=CaseEvent.Kind.COMPANY_REPLIED, is_public=True).exists()


def test_waiting_over_christmas_counts_only_working_days(owner, unit):
    case = CaseFactory(
        owning_department=unit,
        owner=owner,
        status=Case.Status.WAITING_FOR_COMPANY,
        waiting_since=at(2026, 12, 22, 9, 0),
        due_at=D(2026, 12, 30),
    )
    follower = CaseFollower.objects.get(case=case)
    with time_machine.travel(at(2027, 1, 5, 9, 0), tick=False):
        # Waited 23, 28, 29, 30 December and 4, 5 January: 6 working days.
        case_company_message(follower_id=follower.pk, body="Ursäkta dröjsmålet.")
    case.refresh_from_db()
    # 30 Dec + 6 working days: 4, 5, 7, 8, 11, 12 January.
    assert case.due_at == D(2027, 1, 12)


def test_a_message_while_not_waiting_leaves_the_deadline_alone(owner, unit):
    case = CaseFactory(
        owning_department=unit, owner=owner, status=Case.Status.IN_PROGRESS, due_at=D(2026, 12, 4)
    )
    follower = CaseFollower.objects.get(case=case)
    case_company_message(follower_id=follower.pk, body="En fråga till.")
    case.refresh_from_db()
    assert case.due_at == D(2026, 12, 4)


# --- Extending a deadline ---------------------------------------------------------------------


@pytest.fixture
def case(owner, unit):
    with time_machine.travel(at(2026, 11, 23, 10, 0), tick=False):
        return CaseFactory(
            owning_department=unit,
            owner=owner,
            status=Case.Status.IN_PROGRESS,
            due_at=D(2026, 12, 4),
        )


@time_machine.travel(at(2026, 11, 26, 10, 0), tick=False)
def test_the_owner_extends_the_deadline_and_the_company_sees_date_and_reason(case, owner, client):
    case_extend_deadline(
        case_id=case.pk,
        actor=owner,
        new_due=D(2026, 12, 18),
        reason="Vi väntar på yttrande från räddningstjänsten.",
    )

    case.refresh_from_db()
    assert case.due_at == D(2026, 12, 18)
    assert case.deadline_note == "Vi väntar på yttrande från räddningstjänsten."
    event = case.events.get(kind=CaseEvent.Kind.DEADLINE_EXTENDED)
    assert event.is_public
    assert event.data["new_due"] == "2026-12-18"
    assert event.data["old_due"] == "2026-12-04"
    assert event.actor == owner

    token = CaseFollower.objects.get(case=case).token
    page = client.get(reverse("cases_public:tracking", args=[token])).content.decode()
    assert "Ny tidsgräns: 18 december 2026." in page  # as people read a date
    assert "Vi väntar på yttrande från räddningstjänsten." in page


@time_machine.travel(at(2026, 11, 26, 10, 0), tick=False)
def test_the_case_history_gives_the_new_deadline_as_people_read_a_date(case, owner, client):
    case_extend_deadline(
        case_id=case.pk, actor=owner, new_due=D(2026, 12, 18), reason="Yttrande väntas."
    )

    client.force_login(owner)
    page = client.get(reverse("staff:case_detail", args=[case.reference])).content.decode()
    assert "ändrade tidsgränsen till 18 december 2026. Skäl: Yttrande väntas." in page
    assert "2026-12-18" not in page


@time_machine.travel(at(2026, 11, 26, 10, 0), tick=False)
@pytest.mark.parametrize(
    "new_due, reason, field",
    [
        (D(2026, 12, 18), "  ", "reason"),
        (D(2026, 12, 3), "Mer tid behövs.", "new_due"),  # earlier than the deadline
        (D(2026, 11, 25), "Mer tid behövs.", "new_due"),  # in the past
        (D(2026, 12, 19), "Mer tid behövs.", "new_due"),  # a Saturday
        (D(2026, 12, 24), "Mer tid behövs.", "new_due"),  # julafton
        (None, "Mer tid behövs.", "new_due"),
    ],
)
def test_a_bad_extension_is_refused_at_the_field_and_changes_nothing(
    case, owner, new_due, reason, field
):
    with pytest.raises(ValidationError) as error:
        case_extend_deadline(case_id=case.pk, actor=owner, new_due=new_due, reason=reason)
    assert field in error.value.message_dict
    case.refresh_from_db()
    assert case.due_at == D(2026, 12, 4)
    assert not case.events.filter(kind=CaseEvent.Kind.DEADLINE_EXTENDED).exists()


@time_machine.travel(at(2026, 11, 26, 10, 0), tick=False)
def test_an_officer_of_another_unit_may_not_extend(case):
    stranger = officer(DepartmentFactory(slug="miljo"), username="bertil")
    with pytest.raises(PermissionDenied):
        case_extend_deadline(
            case_id=case.pk, actor=stranger, new_due=D(2026, 12, 18), reason="Mer tid."
        )
    case.refresh_from_db()
    assert case.due_at == D(2026, 12, 4)
