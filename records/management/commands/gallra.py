"""Gallring on demand: anonymise the personal data of cases past their retention period.

manage.py gallra --dry-run    says which cases would be anonymised and what in them
manage.py gallra              does it (the same as the nightly Celery task)
"""

from django.core.management.base import BaseCommand

from records.retention import retention_sweep


class Command(BaseCommand):
    help = "Gallrar personuppgifter i ärenden vars bevarandetid har gått ut."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Visa vad som skulle gallras utan att ändra något.",
        )

    def handle(self, *args, dry_run=False, **options):
        disposals = retention_sweep(dry_run=dry_run)
        verb = "Skulle gallra" if dry_run else "Gallrade"
        for disposal in disposals:
            self.stdout.write(
                f"{verb} {disposal.reference} (avslutat {disposal.closed_at:%Y-%m-%d}, "
                f"bevaras {disposal.retention_months} mån): {', '.join(disposal.done)}"
            )
        if dry_run:
            summary = f"Torrkörning: {len(disposals)} ärenden skulle gallras. Inget ändrades."
        else:
            summary = f"{len(disposals)} ärenden gallrades."
        self.stdout.write(self.style.SUCCESS(summary))
