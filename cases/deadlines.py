"""Swedish working days (arbetsdagar): Monday–Friday, not public holidays, and not
midsommarafton, julafton or nyårsafton, which municipal practice treats as days off."""

import datetime as dt
from functools import lru_cache

import holidays
from django.conf import settings
from django.utils import timezone

# After this hour a case counts as received on the next working day.
WORKDAY_END_HOUR = getattr(settings, "WORKDAY_END_HOUR", 16)


@lru_cache(maxsize=64)
def _days_off(year: int) -> frozenset[dt.date]:
    # include_sundays=False: weekends are handled by weekday(); the class still lists the
    # three afton days (midsommar-, jul-, nyårsafton) as holidays, which is what we want.
    return frozenset(holidays.Sweden(years=year, include_sundays=False).keys())


def _as_date(moment) -> dt.date:
    if isinstance(moment, dt.datetime):
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.date()
    return moment


def is_working_day(day) -> bool:
    day = _as_date(day)
    return day.weekday() < 5 and day not in _days_off(day.year)


def next_working_day(day) -> dt.date:
    day = _as_date(day) + dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def previous_working_day(day) -> dt.date:
    day = _as_date(day) - dt.timedelta(days=1)
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def start_day(moment) -> dt.date:
    """The working day a moment counts from: that day if it is a working day and (for a
    time) before the end of office hours, otherwise the next working day."""
    day = _as_date(moment)
    late = False
    if isinstance(moment, dt.datetime):
        local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
        late = local.hour >= WORKDAY_END_HOUR
    if is_working_day(day) and not late:
        return day
    return next_working_day(day)


def add_working_days(day, n: int) -> dt.date:
    """The date n working days after `day` (a date or a moment). Counting starts with the
    next working day; a moment after office hours or on a day off counts from the next one."""
    current = start_day(day)
    step = 1 if n >= 0 else -1
    for _ in range(abs(n)):
        current = next_working_day(current) if step > 0 else previous_working_day(current)
    return current


def working_days_between(a, b) -> int:
    """Working days from a to b: the working days after a up to and including b.
    Negative when b is before a."""
    start, end = _as_date(a), _as_date(b)
    if end < start:
        return -working_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
