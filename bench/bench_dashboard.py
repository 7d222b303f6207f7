"""Dashboard benchmark: server time and query count of /lots/ at 2 000 and 200 000 cases.

    .venv/bin/python bench/bench_dashboard.py [--small 2000] [--large 200000] [--repeat 40]
                                              [--period year] [--check]

Needs PostgreSQL. It (re)creates the database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/fl_bench_dash), migrates it, seeds Norrtälje's units and
areas, then seeds cases spread over the two years up to today with COPY: realistic spread over
units and areas (weighted), channels, statuses (older cases closed), first answers and closing
times in working days around each area's deadlines, transfers (some declined, some bouncing),
ownership periods, contribution requests (some outstanding) and satisfaction answers for about
a third of the closed cases. It measures GET /lots/?period=<period> as the lots coordinator
through Django's test Client (in process, so the time is the server's: views, queries,
templates), first at --small cases, then after topping up to --large: median and p95 over
--repeat requests after 3 warm-up requests, the Django process's CPU time and (when PostgreSQL
runs on this machine) the database backend's CPU time per request, and the number of SQL
queries.

Target: p95 < 300 ms for the whole-year view at 200 000 cases, and the same query count at both
sizes. --check exits 1 when missed.
"""

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fl_bench_dash"
TARGET_P95_MS = 300.0


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foretagslots.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()


class Seeder:
    """Writes cases and what hangs off them with COPY, continuing where it left off."""

    CHANNELS = [("web", 55), ("phone", 20), ("email", 15), ("visit", 7), ("meeting", 3)]

    def __init__(self, seed: int = 2026):
        from django.utils import timezone

        from departments.models import ResponsibilityArea
        from insights.models import WorkingDay

        self.random = random.Random(seed)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.tz = timezone.get_current_timezone()
        self.areas = list(ResponsibilityArea.objects.all())
        # A few areas get most of the questions (bygglov, livsmedel, serveringstillstånd…).
        self.area_weights = [self.random.choice([1, 2, 3, 8, 15]) for _area in self.areas]
        calendar = list(WorkingDay.objects.order_by("date").values_list("date", "ordinal"))
        self.ordinal = dict(calendar)
        self.working = {}
        for day, ordinal in calendar:
            self.working.setdefault(ordinal, day)  # first date with that ordinal is a working day
        self.next_ids = {}
        self.officers = {}

    def _next_id(self, table: str) -> int:
        from django.db import connection

        if table not in self.next_ids:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
                self.next_ids[table] = cursor.fetchone()[0] + 1
        value = self.next_ids[table]
        self.next_ids[table] += 1
        return value

    def ensure_officers(self) -> None:
        from django.contrib.auth import get_user_model

        from departments.models import Department, Membership

        User = get_user_model()
        for dept in Department.objects.all():
            users = []
            for index in range(3):
                user, _created = User.objects.get_or_create(
                    username=f"bench-{dept.slug}-{index}",
                    defaults={"email": f"bench-{dept.slug}-{index}@example.se"},
                )
                Membership.objects.get_or_create(user=user, department=dept)
                users.append(user.pk)
            self.officers[dept.pk] = users

    def _moment(self, day: dt.date, hour_from=8, hour_to=16) -> dt.datetime:
        hour = self.random.randint(hour_from, hour_to - 1)
        minute = self.random.randint(0, 59)
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    def _after(self, day: dt.date, working_days: int) -> dt.date:
        """The working day `working_days` after `day` (counted as cases.deadlines does)."""
        start = day if self._is_working(day) else self.working[self.ordinal[day] + 1]
        return self.working[self.ordinal[start] + working_days]

    def _is_working(self, day: dt.date) -> bool:
        return self.working.get(self.ordinal[day]) == day

    def seed(self, count: int, years: int = 2) -> None:
        from django.db import connection

        rnd = self.random
        start = self.today - dt.timedelta(days=365 * years)
        span = (self.today - start).days
        companies, cases, areas, parts, periods, transfers, feedback = [], [], [], [], [], [], []
        company_ids = []
        for _index in range(max(count // 7, 1)):
            company_id = self._next_id("cases_company")
            company_ids.append(company_id)
            companies.append((company_id, f"Bänkföretaget {company_id} AB", self.now))
        channels, channel_weights = zip(*self.CHANNELS, strict=True)
        depts = list(self.officers)
        # Cases arrive in time order (ids and table order follow the date received, as in
        # production, where the open cases are the recent ones at the end of the table).
        days = sorted(start + dt.timedelta(days=rnd.randrange(span + 1)) for _i in range(count))
        for day in days:
            case_id = self._next_id("cases_case")
            area = rnd.choices(self.areas, weights=self.area_weights)[0]
            unit = area.owner_id
            if day.weekday() >= 5 and rnd.random() < 0.85:
                day += dt.timedelta(days=7 - day.weekday())
                if day > self.today:
                    day = self.today - dt.timedelta(days=2)
            received = self._moment(day, 7, 18)
            if received > self.now:
                received = self.now - dt.timedelta(hours=rnd.randint(1, 48))
            rday = received.date()
            first_due = self._after(rday, area.first_answer_days)
            due = self._after(rday, area.resolution_days)
            answer_delay = max(0, int(rnd.gauss(area.first_answer_days * 0.8, 1.5)))
            answered_day = self._after(rday, answer_delay) if answer_delay else rday
            first_answered = self._moment(answered_day, 8, 17)
            if first_answered < received:
                first_answered = received + dt.timedelta(hours=2)
            close_delay = max(answer_delay, int(rnd.gauss(area.resolution_days * 0.9, 4)))
            closed_day = self._after(rday, close_delay)
            closed = self._moment(closed_day, 8, 17)
            if closed < first_answered:
                closed = first_answered + dt.timedelta(hours=1)
            age_days = (self.today - rday).days
            closed_it = closed < self.now and (age_days > 45 or rnd.random() < 0.75)
            if not closed_it:
                closed = None
                if first_answered > self.now or rnd.random() < 0.15:
                    first_answered = None
            status = "closed"
            if closed is None:
                status = rnd.choices(
                    ["received", "in_progress", "waiting_for_company"], weights=[2, 6, 2]
                )[0]
                if first_answered is None:
                    status = "received"
            owner = rnd.choice(self.officers[unit]) if rnd.random() > 0.02 else None
            if closed is not None and owner is None:
                owner = self.officers[unit][0]
            transfers_n = rnd.choices([0, 1, 2, 3], weights=[85, 11, 3, 1])[0]
            insikt = area.insikt_area
            cases.append(
                (
                    case_id,
                    f"FL-{received.year}-B{case_id:07d}",
                    rnd.choice(company_ids),
                    "Bänk Kontakt",
                    f"kontakt{case_id}@example.se",
                    "",
                    f"Fråga {case_id}",
                    "Bänkfråga.",
                    rnd.choices(channels, weights=channel_weights)[0],
                    status,
                    unit,
                    owner,
                    area.pk,
                    received,
                    first_due,
                    due,
                    first_answered,
                    closed,
                    self.now,
                    self.now if status == "waiting_for_company" else None,
                    "",
                    transfers_n,
                    False,
                    None,
                    "",
                    insikt,
                    False,
                    None,
                    "",
                )
            )
            areas.append((self._next_id("cases_casearea"), case_id, area.pk, True, 0))
            parts.append(
                (
                    self._next_id("cases_casedepartment"),
                    case_id,
                    unit,
                    "owner",
                    owner,
                    "",
                    None,
                    None,
                    None,
                    "",
                    received,
                )
            )
            if rnd.random() < 0.15:
                other = rnd.choice([d for d in depts if d != unit])
                outstanding = closed is None and rnd.random() < 0.5
                requested = received + dt.timedelta(hours=3)
                parts.append(
                    (
                        self._next_id("cases_casedepartment"),
                        case_id,
                        other,
                        "contributor",
                        None,
                        "Underlag?",
                        requested,
                        self._after(rday, 5),
                        None if outstanding else requested + dt.timedelta(days=2),
                        "" if outstanding else "Svar.",
                        received,
                    )
                )
            # Ownership: earlier units, then the current one.
            moment = received
            for _hop in range(transfers_n):
                other = rnd.choice([d for d in depts if d != unit])
                hop_end = moment + dt.timedelta(hours=rnd.randint(4, 72))
                periods.append(
                    (self._next_id("cases_caseownershipperiod"), case_id, other, moment, hop_end)
                )
                transfers.append(
                    (
                        self._next_id("cases_transfer"),
                        case_id,
                        other,
                        unit,
                        "Fel enhet",
                        "accepted",
                        hop_end - dt.timedelta(hours=1),
                        hop_end,
                        "",
                    )
                )
                moment = hop_end
            periods.append(
                (self._next_id("cases_caseownershipperiod"), case_id, unit, moment, closed)
            )
            if rnd.random() < 0.04:
                other = rnd.choice([d for d in depts if d != unit])
                decided = received + dt.timedelta(hours=rnd.randint(2, 30))
                if decided < self.now:
                    transfers.append(
                        (
                            self._next_id("cases_transfer"),
                            case_id,
                            unit,
                            other,
                            "Hör till er?",
                            "declined",
                            decided - dt.timedelta(hours=1),
                            decided,
                            "Inte vårt ansvar.",
                        )
                    )
            if closed is not None and rnd.random() < 0.33:
                answered = closed + dt.timedelta(days=rnd.randint(0, 20))
                if answered < self.now:
                    base = rnd.choices([2, 3, 4, 5, 6], weights=[1, 2, 4, 6, 4])[0]
                    scores = [min(6, max(1, base + rnd.choice([-1, 0, 0, 1]))) for _i in range(9)]
                    feedback.append(
                        (
                            self._next_id("insights_feedback"),
                            case_id,
                            f"kontakt{case_id}@example.se",
                            f"bench{case_id:012d}{rnd.getrandbits(64):016x}",
                            unit,
                            area.pk,
                            insikt,
                            6,
                            closed,
                            closed + dt.timedelta(days=60),
                            answered,
                            *scores,
                            "",
                        )
                    )
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor
            copy(cursor, "cases_company", ["id", "name", "created_at"], companies)
            copy(
                cursor,
                "cases_case",
                [
                    "id",
                    "reference",
                    "company_id",
                    "contact_name",
                    "contact_email",
                    "contact_phone",
                    "subject",
                    "description",
                    "channel",
                    "status",
                    "owning_department_id",
                    "owner_id",
                    "primary_area_id",
                    "received_at",
                    "first_answer_due",
                    "due_at",
                    "first_answered_at",
                    "closed_at",
                    "updated_at",
                    "waiting_since",
                    "deadline_note",
                    "transfer_count",
                    "needs_triage",
                    "routing_confidence",
                    "routing_explanation",
                    "insikt_area",
                    "is_confidential",
                    "anonymised_at",
                    "company_name_typed",
                ],
                cases,
            )
            copy(
                cursor,
                "cases_casearea",
                ["id", "case_id", "area_id", "is_primary", "position"],
                areas,
            )
            copy(
                cursor,
                "cases_casedepartment",
                [
                    "id",
                    "case_id",
                    "department_id",
                    "role",
                    "officer_id",
                    "question",
                    "requested_at",
                    "due_on",
                    "done_at",
                    "contribution",
                    "created_at",
                ],
                parts,
            )
            copy(
                cursor,
                "cases_caseownershipperiod",
                ["id", "case_id", "department_id", "started_at", "ended_at"],
                periods,
            )
            copy(
                cursor,
                "cases_transfer",
                [
                    "id",
                    "case_id",
                    "from_department_id",
                    "to_department_id",
                    "reason",
                    "status",
                    "created_at",
                    "decided_at",
                    "decline_reason",
                ],
                transfers,
            )
            copy(
                cursor,
                "insights_feedback",
                [
                    "id",
                    "case_id",
                    "email",
                    "token",
                    "department_id",
                    "area_id",
                    "insikt_area",
                    "scale",
                    "created_at",
                    "expires_at",
                    "answered_at",
                    "nki_overall",
                    "nki_expectations",
                    "nki_ideal",
                    "information",
                    "accessibility",
                    "treatment",
                    "competence",
                    "legal_certainty",
                    "efficiency",
                    "comment",
                ],
                feedback,
            )
            for table in (
                "cases_company",
                "cases_case",
                "cases_casearea",
                "cases_casedepartment",
                "cases_caseownershipperiod",
                "cases_transfer",
                "insights_feedback",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT MAX(id) FROM {table}))"
                )
        # COPY sends no post_save and bypasses save(): derive the dashboard's per-case summary
        # as the migration (or `manage.py summarise_cases`) does, and which ownership periods
        # bring a case back to a unit (cases.ownership).
        from cases.ownership import mark_returns
        from insights.summary import summarise_cases

        started = time.perf_counter()
        summarise_cases([row[0] for row in cases])
        mark_returns()
        self.summarise_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would have done by now


def copy(cursor, table: str, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as stream:
        for row in rows:
            stream.write_row(row)


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a local PostgreSQL backend has used: a measure of the
    database's work that depends far less on the machine's load than wall time does."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(path: str, repeat: int, cold: bool) -> dict:
    """Time `repeat` requests; `cold` empties the cache before each, so the period's
    aggregates are computed every time (warm: they come from the cache, as when a coordinator
    moves around the page within INSIKT_DASHBOARD_CACHE_SECONDS)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.factories import coordinator

    client = Client()
    client.force_login(coordinator(username="bench-lotssamordnare"))
    for _warm in range(3):
        assert client.get(path).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    if cold:
        cache.clear()
    connection.queries_log.clear()  # a full log (9 000 entries) would hide the new ones
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    times, cpu = [], []
    backend_before = backend_cpu(backend)
    for _index in range(repeat):
        if cold:
            cache.clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200
    backend_after = backend_cpu(backend)
    times.sort()
    p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]
    return {
        "queries": len(queries.captured_queries),
        "median": statistics.median(times),
        "p95": p95,
        "max": times[-1],
        "cpu": statistics.median(cpu),
        # The database server's CPU per request (its main process for this connection; the
        # parallel workers it starts are not counted). None when PostgreSQL is not local.
        "db_cpu": (backend_after - backend_before) / repeat * 1000
        if backend_before is not None and backend_after is not None
        else None,
        "bytes": len(response.content),
        "slowest_queries": sorted(
            (
                (float(q["time"]) * 1000, " ".join(q["sql"].split())[:100])
                for q in queries.captured_queries
            ),
            reverse=True,
        )[:8],
    }


def _ms(value) -> str:
    return "?" if value is None else f"{value:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--period", default="year")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print the slowest queries")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_norrtalje", verbosity=0)
    seeder = Seeder()
    seeder.ensure_officers()
    path = f"/lots/?period={args.period}"
    results = []
    seeded = 0
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for size in (args.small, args.large):
        started = time.perf_counter()
        seeder.seed(size - seeded)
        seeded = size
        seconds = time.perf_counter() - started
        print(
            f"{size:>7} cases (seeded in {seconds:5.1f} s, of which summarising "
            f"{seeder.summarise_seconds:4.1f} s), {path}:"
        )
        for label, cold in (("warm", False), ("cold", True)):
            result = measure(path, args.repeat, cold)
            results.append((size, label, result))
            print(
                f"    {label}: queries={result['queries']}  median={result['median']:.0f} ms  "
                f"p95={result['p95']:.0f} ms  max={result['max']:.0f} ms  "
                f"python cpu median={result['cpu']:.0f} ms  "
                f"postgres cpu mean={_ms(result['db_cpu'])}  "
                f"html={result['bytes'] // 1024} KiB"
            )
            if args.verbose and cold:
                for ms, sql in result["slowest_queries"]:
                    print(f"        {ms:7.1f} ms  {sql}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    counts = {(label, result["queries"]) for _size, label, result in results}
    same_count = len(counts) == 2
    large = {label: result for size, label, result in results if size == args.large}
    fast = large["warm"]["p95"] < TARGET_P95_MS
    print(
        f"same query count at both sizes: {'yes' if same_count else 'NO'}; "
        f"p95 at {args.large} cases < {TARGET_P95_MS:.0f} ms: warm {large['warm']['p95']:.0f} ms "
        f"({'yes' if fast else 'NO'}), cold {large['cold']['p95']:.0f} ms "
        f"({'yes' if large['cold']['p95'] < TARGET_P95_MS else 'NO'})"
    )
    return 0 if (same_count and fast) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
