"""manage.py bench_sweep : ONE reminder sweep, synchronously, in this process (bench harness).

Supersedes the bench glue's command of the same name (this app comes first in
INSTALLED_APPS; the glue's imports the old cases.reminders). Calls the function Celery beat's
followup.tasks.reminder_sweep_task calls, followup.reminders.reminder_sweep(), at
foretagslots.benchmoment.bench_moment() (the real clock on a
Swedish working day, else the next working day 09:00 -- the same as the project's
`manage.py sweep_reminders --at`). Prints the sweep's own report; runs no query of its own.
"""

from django.core.management.base import BaseCommand

from foretagslots.benchmoment import bench_moment


class Command(BaseCommand):
    help = "One reminder sweep now (bench harness, around followup.reminders.reminder_sweep)."

    def handle(self, *args, **options):
        from followup.reminders import reminder_sweep

        moment = bench_moment()
        report = reminder_sweep(now=moment)
        self.stdout.write(f"sweep at {moment.isoformat() if moment else 'now'}")
        if report.skipped_day_off:
            self.stdout.write("not a working day: nothing sent")
        self.stdout.write(f"pending e-mails flushed: {report.flushed_emails}")
        for line in report.lines():
            self.stdout.write(f"  {line}")
        self.stdout.write(f"reminders sent: {report.total} (candidates: {report.candidates})")
