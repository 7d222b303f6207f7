from django.core.management.base import BaseCommand

from insights.models import fill_working_days


class Command(BaseCommand):
    help = "Bygg om arbetsdagskalendern som översiktens mediantider räknas med."

    def add_arguments(self, parser):
        parser.add_argument("--from-year", type=int, default=2015)
        parser.add_argument("--to-year", type=int, default=2045)

    def handle(self, *args, from_year, to_year, **options):
        count = fill_working_days(from_year, to_year)
        self.stdout.write(f"{count} dagar i kalendern.")
