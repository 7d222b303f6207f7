import json
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from departments.models import Department, ResponsibilityArea

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "norrtalje.json"


class Command(BaseCommand):
    help = "Load Norrtälje's units and responsibility areas. Safe to run again: updates in place."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DATA_FILE), help="JSON data file to load")

    @transaction.atomic
    def handle(self, *args, **options):
        data = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
        departments = {}
        for unit in data["departments"]:
            department, _created = Department.objects.update_or_create(
                slug=unit["slug"],
                defaults={"name": unit["name"], "email": unit.get("email", "")},
            )
            departments[unit["slug"]] = department
        for item in data["areas"]:
            area, _created = ResponsibilityArea.objects.update_or_create(
                slug=item["slug"],
                defaults={
                    "name": item["name"],
                    "name_en": item.get("name_en", ""),
                    "description": item.get("description", ""),
                    "owner": departments[item["owner"]],
                    "keywords": "\n".join(item.get("keywords", [])),
                    "first_answer_days": item.get("first_answer_days", 2),
                    "resolution_days": item.get("resolution_days", 10),
                    "insikt_area": item.get("insikt_area", ""),
                },
            )
            area.consulted.set([departments[slug] for slug in item.get("consulted", [])])
        call_command("seed_routing_rules", verbosity=0, stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Norrtälje: {len(departments)} enheter och {len(data['areas'])} ansvarsområden."
            )
        )
