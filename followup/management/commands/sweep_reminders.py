"""`python manage.py sweep_reminders`: one reminder sweep, now, printing what it did."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from followup.reminders import morning_digest, reminder_sweep


class Command(BaseCommand):
    help = "Kör en påminnelsesvepning nu och skriv ut vad som skickades."

    def add_arguments(self, parser):
        parser.add_argument(
            "--digest", action="store_true", help="Skicka också morgonsammanfattningen."
        )
        parser.add_argument(
            "--at",
            help="Kör som om klockan vore ISO-tiden (t.ex. 2026-12-01T09:00), för test.",
        )

    def handle(self, *args, **options):
        now = None
        if options["at"]:
            try:
                now = dt.datetime.fromisoformat(options["at"])
            except ValueError as error:
                raise CommandError(f"Ogiltig tid: {options['at']}") from error
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        report = reminder_sweep(now=now)
        if options["digest"]:
            digest = morning_digest(now=now)
            report.sent.update(digest.sent)
        if report.skipped_day_off:
            self.stdout.write("Ingen arbetsdag: inga påminnelser skickas i dag.")
        self.stdout.write(f"Väntande e-post som skickades: {report.flushed_emails}")
        for line in report.lines():
            self.stdout.write(f"  {line}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Påminnelser skickade: {report.total} (kandidater: {report.candidates})"
            )
        )
