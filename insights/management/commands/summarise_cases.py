from django.core.management.base import BaseCommand

from insights.summary import summarise_cases


class Command(BaseCommand):
    help = (
        "Räkna om översiktens sammanfattning per ärende (arbetsdagar till första svar och "
        "avslut) från ärendena och kalendern. Kan köras flera gånger."
    )

    def handle(self, *args, **options):
        count = summarise_cases()
        self.stdout.write(f"{count} ärenden sammanfattade.")
