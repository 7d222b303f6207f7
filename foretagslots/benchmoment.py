"""The moment the bench sweep runs at (bench_seed / bench_sweep; supersedes the bench glue's
benchglue.moment).

The portal's reminder sweep sends nothing on a day that is not a Swedish working day
(followup.reminders.reminder_sweep: skipped_day_off). When the bench runs on such a day, the
sweep (and the due set computed by bench_seed --reset) use the next working day at 09:00
local time instead, exactly as `manage.py sweep_reminders --at ...` would; on a working
day the real clock is used (None).
"""

import datetime as dt

from django.utils import timezone


def bench_moment():
    from cases.deadlines import is_working_day, start_day

    now = timezone.now()
    today = timezone.localdate(now)
    if is_working_day(today):
        return None
    day = start_day(today)  # the next working day
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))
