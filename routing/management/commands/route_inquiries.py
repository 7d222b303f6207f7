"""Route inquiries given as JSON lines, through the same `route()` the intake uses.

Input, one object a line on stdin: {"id": ..., "subject": ..., "body": ...}
Output, one object a line on stdout:
{"id", "areas": [slugs, primary first], "owner_unit": department slug, "confidence",
 "needs_triage", "explanation"}
"owner_unit" is the unit the router finds responsible (its suggestion); "needs_triage" says
that the router is not sure enough, so the intake sends the case to the triage unit with
that suggestion.
"""

import json
import resource
import statistics
import sys
import time

from django.core.management.base import BaseCommand

from routing import api as routing


class Command(BaseCommand):
    help = "Route JSON-line inquiries from stdin; write one JSON line per inquiry to stdout."

    def add_arguments(self, parser):
        parser.add_argument(
            "--input", default="-", help="A JSON-lines file to read instead of stdin."
        )
        parser.add_argument(
            "--stats",
            action="store_true",
            help="Write the number of inquiries and the time per inquiry to stderr.",
        )

    def handle(self, *args, **options):
        if options["input"] == "-":
            self._route_lines(sys.stdin, options["stats"])
        else:
            with open(options["input"], encoding="utf-8") as lines:
                self._route_lines(lines, options["stats"])

    def _route_lines(self, lines, stats: bool) -> None:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        routing.get_model()  # load once up front so the timing below is per inquiry
        load_seconds = time.perf_counter() - started
        rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        count, elapsed, times = 0, 0.0, []
        for line in lines:
            if not line.strip():
                continue
            try:
                inquiry = json.loads(line)
                started = time.perf_counter()
                result = routing.route(inquiry.get("subject", ""), inquiry.get("body", ""))
                times.append(time.perf_counter() - started)
                elapsed += times[-1]
            except (ValueError, AttributeError) as error:
                # One output line per input line, so the caller can pair them up.
                self._emit({"id": None, "error": str(error)})
                continue
            count += 1
            self._emit(
                {
                    "id": inquiry.get("id"),
                    "areas": [scored.area.slug for scored in result.areas],
                    "owner_unit": (result.suggested_department or result.owning_department).slug,
                    "confidence": result.confidence,
                    "needs_triage": result.needs_triage,
                    "explanation": result.explanation,
                }
            )
        if stats:
            per_inquiry = 1000 * elapsed / count if count else 0.0
            median = 1000 * statistics.median(times) if times else 0.0
            self.stderr.write(
                f"routed={count} ms_per_inquiry={per_inquiry:.2f} median_ms={median:.2f} "
                f"load_s={load_seconds:.2f} load_mb={rss_growth_mb:.1f}"
            )

    def _emit(self, payload: dict) -> None:
        self.stdout.write(json.dumps(payload, ensure_ascii=False))
