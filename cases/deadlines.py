"""Swedish working days (arbetsdagar): Monday–Friday, not public holidays, and not
midsommarafton, julafton or nyårsafton, which municipal practice treats as days off.

Counting uses a cached calendar (an index of working days per date), so adding working days
and counting them between two dates are O(1) look-ups, whatever the distance. The calendar
covers a span of years around the dates asked about and grows on demand.
"""

import bisect
import datetime as dt
import threading
from functools import lru_cache

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format

# After this hour a case counts as received on the next working day.

_AFTON = ("midsommarafton", "julafton", "nyårsafton")


# Public holidays as the law has them since 2005 (lag 1989:253: Nationaldagen a holiday,
# Annandag pingst not). Computed here rather than with the `holidays` package, whose import
# loads every country (~400 modules, ~18 MiB in each web process); that package is asked only
# about years before 2005. tests/test_deadlines.py checks both agree from 2005 on.
_CURRENT_RULES_FROM = 2005


def _easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _saturday_between(year: int, month: int, day: int) -> dt.date:
    """The Saturday in the seven days from year-month-day."""
    start = dt.date(year, month, day)
    return start + dt.timedelta(days=(5 - start.weekday()) % 7)


def public_holidays(year: int) -> set[dt.date]:
    """Sweden's public holidays in `year` (helgdagar, Sundays not listed)."""
    if year < _CURRENT_RULES_FROM:
        import holidays

        return set(holidays.Sweden(years=year, include_sundays=False).keys())
    easter = _easter_sunday(year)
    return {
        dt.date(year, 1, 1),  # nyårsdagen
        dt.date(year, 1, 6),  # trettondedag jul
        easter - dt.timedelta(days=2),  # långfredagen
        easter,  # påskdagen
        easter + dt.timedelta(days=1),  # annandag påsk
        dt.date(year, 5, 1),  # första maj
        easter + dt.timedelta(days=39),  # Kristi himmelsfärdsdag
        easter + dt.timedelta(days=49),  # pingstdagen
        dt.date(year, 6, 6),  # Sveriges nationaldag
        _saturday_between(year, 6, 20),  # midsommardagen
        _saturday_between(year, 10, 31),  # alla helgons dag
        dt.date(year, 12, 25),  # juldagen
        dt.date(year, 12, 26),  # annandag jul
    }


@lru_cache(maxsize=256)
def _days_off(year: int) -> frozenset[dt.date]:
    # Weekends are handled by weekday(). The three afton days (midsommar-, jul-, nyårsafton)
    # are not public holidays, but they are days off in municipal practice.
    days = public_holidays(year)
    days.add(dt.date(year, 12, 24))
    days.add(dt.date(year, 12, 31))
    # Midsommarafton: the Friday between 19 and 25 June.
    days.add(next(dt.date(year, 6, d) for d in range(19, 26) if dt.date(year, 6, d).weekday() == 4))
    return frozenset(days)


class _Calendar:
    """Working days from `first` to `last`: `workdays` sorted, `count[i]` = the number of
    working days on or before first + i days."""

    def __init__(self, first_year: int, last_year: int):
        self.first = dt.date(first_year, 1, 1)
        self.last = dt.date(last_year, 12, 31)
        self.workdays: list[dt.date] = []
        self.count: list[int] = []
        day, total = self.first, 0
        while day <= self.last:
            if day.weekday() < 5 and day not in _days_off(day.year):
                total += 1
                self.workdays.append(day)
            self.count.append(total)
            day += dt.timedelta(days=1)

    def covers(self, day: dt.date) -> bool:
        return self.first <= day <= self.last


_calendar = _Calendar(dt.date.today().year - 6, dt.date.today().year + 6)
_calendar_lock = threading.Lock()


def _cal(*days: dt.date) -> _Calendar:
    global _calendar
    calendar = _calendar
    if all(calendar.covers(day) for day in days):
        return calendar
    with _calendar_lock:
        calendar = _calendar
        if not all(calendar.covers(day) for day in days):
            first = min([calendar.first.year, *(d.year for d in days)]) - 2
            last = max([calendar.last.year, *(d.year for d in days)]) + 2
            calendar = _Calendar(max(first, 1), min(last, 9998))
            _calendar = calendar
    return calendar


def _as_date(moment) -> dt.date:
    if isinstance(moment, dt.datetime):
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.date()
    return moment


def _ordinal(calendar: _Calendar, day: dt.date) -> int:
    """The number of working days from the calendar's start up to and including `day`."""
    return calendar.count[(day - calendar.first).days]


def is_working_day(day) -> bool:
    day = _as_date(day)
    return day.weekday() < 5 and day not in _days_off(day.year)


def next_working_day(day) -> dt.date:
    return add_working_days(_as_date(day), 1) if is_working_day(day) else start_day(day)


def previous_working_day(day) -> dt.date:
    day = _as_date(day)
    calendar = _cal(day - dt.timedelta(days=30), day)
    index = bisect.bisect_left(calendar.workdays, day) - 1
    return calendar.workdays[index]


def start_day(moment) -> dt.date:
    """The working day a moment counts from: that day if it is a working day and (for a
    time) before the end of office hours, otherwise the next working day."""
    day = _as_date(moment)
    late = False
    if isinstance(moment, dt.datetime):
        local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
        late = local.hour >= settings.WORKDAY_END_HOUR
    if is_working_day(day) and not late:
        return day
    calendar = _cal(day, day + dt.timedelta(days=30))
    return calendar.workdays[bisect.bisect_right(calendar.workdays, day)]


def add_working_days(day, n: int) -> dt.date:
    """The date n working days after `day` (a date or a moment). Counting starts with the
    next working day; a moment after office hours or on a day off counts from the next one.
    A negative n counts backwards."""
    current = start_day(day)
    # Slack of 2 weeks per 7 working days covers every run of days off in Sweden.
    span = dt.timedelta(days=abs(n) * 2 + 30)
    calendar = _cal(current - span, current + span)
    index = bisect.bisect_left(calendar.workdays, current) + n
    return calendar.workdays[index]


def working_days_between(a, b) -> int:
    """Working days from a to b: the working days after a up to and including b.
    Negative when b is before a."""
    start, end = _as_date(a), _as_date(b)
    if end < start:
        return -working_days_between(end, start)
    calendar = _cal(start, end)
    return _ordinal(calendar, end) - _ordinal(calendar, start)


def overdue_cutoff(today, days: int) -> dt.date:
    """The latest date d with working_days_between(d, today) >= days: every date on or before
    it lies at least `days` working days before `today`. Lets a query compare a date column
    with one constant instead of counting working days row by row."""
    today = _as_date(today)
    if days <= 0:
        return today
    calendar = _cal(today - dt.timedelta(days=days * 2 + 30), today)
    # The working day numbered ordinal(today) - days + 1 is the first date too close to
    # today; the day before it is the answer.
    workday = calendar.workdays[_ordinal(calendar, today) - days]
    return workday - dt.timedelta(days=1)


def readable_date(value) -> str:
    """A date as people read it in running text, in the current language: "3 december 2026"
    (never 2026-12-03). Takes a date or an ISO date string, as stored in event data."""
    if isinstance(value, str):
        parsed = parse_date(value) if value else None
        if parsed is None:
            return value
        value = parsed
    if value is None:
        return ""
    return date_format(value, "j F Y")
