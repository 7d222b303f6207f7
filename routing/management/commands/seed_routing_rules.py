import json
from pathlib import Path

from django.core.management.base import BaseCommand

from departments.models import ResponsibilityArea
from routing.models import RoutingRule

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "rules.json"


class Command(BaseCommand):
    help = "Load the routing rules (routing/data/rules.json). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DATA_FILE))

    def handle(self, *args, **options):
        areas = {a.slug: a for a in ResponsibilityArea.objects.all()}
        created = 0
        for item in json.loads(Path(options["file"]).read_text(encoding="utf-8")):
            if item["area"] not in areas or item["other_area"] not in areas:
                continue
            _rule, new = RoutingRule.objects.get_or_create(
                kind=item["kind"],
                area=areas[item["area"]],
                other_area=areas[item["other_area"]],
                defaults={"cues": "\n".join(item.get("cues", [])), "reason": item["reason"]},
            )
            created += new
        self.stdout.write(f"routing rules: {created} new")
