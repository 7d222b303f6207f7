"""manage.py bench_seed --n N | --reset | --count | --form-started   (the bench harness's seeding)

The seeding of the side-by-side bench (/work/shared/bench, README.portal.md), kept in the
project so that it follows the code: the harness's glue app `benchglue` has a command of the
same name, but Django resolves a command name to the first app in INSTALLED_APPS that has it,
so this copy supersedes the glue's (which still imports the old cases.reminders and
cases.management.commands.seed_bulk_cases). Same command line and output as the glue's.

Seeds N cases with the same shape as bench/seed_helpdesk.py and baseline's seed_inquiries:
received over the last 2 years (skewed recent: r**0.85), open with probability
0.10 + 0.40*r (so ~30% open, more likely when recent), 75% with an owner (an officer of the
owning unit), 3% of open cases on hold (the portal's equivalent: waiting for the company).
Written with bulk_create into the tables the portal's own intake fills for a case
(cases.services.intake.case_create) and that the project's seed_bulk_cases fills: Company
(one per 4 cases, as seed_bulk_cases), Case, CaseArea (primary), CaseDepartment (owner
unit), CaseOwnershipPeriod, CaseFollower (token) and CaseEvents (CREATED, ROUTED, ASSIGNED
when owned, CLOSED when closed). Deadlines come from the area's working-day limits with the
portal's own cases.deadlines.add_working_days. Staff: the project's seed_bulk_cases staff
(3 officers + 1 lead per unit, one coordinator "bulk-lotssamordnare"), reused from that
command.

After seeding it snapshots max ids and the reference counters (bench_seed_meta,
bench_seed_refs) so that --reset can restore the seeded state: deletes cases (cascading)
and companies created later (public-form benchmark), Reminder rows, OutgoingEmails and
CaseEvents written later (the sweep), restores the reference counters, empties the bench
Celery queue and cache, forgets the sweep's ReminderMarks (none exist when seeded),
recomputes the sweep's due set (bench_due, see below) and
VACUUM ANALYZEs. --count prints the number of seeded cases (0 when not seeded).

bench_due: the open cases the next reminder sweep will remind about, computed with the
portal's own reminder sources (followup.reminders: every registered source called with a
SweepContext, as reminder_sweep does) at the bench sweep moment (see
foretagslots.benchmoment), without sending anything. The harness's SWEEP_DUE_SQL counts the ones
that have no Reminder row yet.

--form-started prints a urlencoded signed "form started" value ("timestamp:nonce", 60 s in the
past) for the harness's FORM_DATA: a visitor who opened the form a minute ago, as the CSRF token
is one issued at the same visit. The harness posts that one value thousands of times, while an
ordinary copy of the form is accepted once (FORM_STARTED_SINGLE_USE); so this is a load-test
value (cases.forms.form_started_value(load_test=True)): signed with a salt of its own, so only
someone holding SECRET_KEY (this command) can mint one, accepted again and again but still
subject to the minimum fill time and the 24 h maximum age, and checked at the same cost as an
ordinary value (the same cache round trip). The harness's settings need nothing for it.
"""

import datetime as dt
import random
import time
import urllib.parse

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

BATCH = 5000
SPAN = dt.timedelta(days=730)
CHANNELS = [("web", 55), ("phone", 20), ("email", 15), ("visit", 7), ("meeting", 3)]
WORDS = [
    "vi",
    "undrar",
    "hur",
    "det",
    "fungerar",
    "och",
    "vad",
    "som",
    "gäller",
    "för",
    "oss",
    "i",
    "kommunen",
    "tack",
    "på",
    "förhand",
    "med",
    "vänlig",
    "hälsning",
    "vi",
    "har",
    "tänkt",
    "börja",
    "i",
    "vår",
    "och",
    "vill",
    "veta",
    "vilka",
    "papper",
    "som",
    "behövs",
    "hur",
    "lång",
    "tid",
    "tar",
    "det",
    "och",
    "vad",
    "kostar",
    "det",
    "kan",
    "ni",
    "ringa",
    "mig",
    "när",
    "det",
    "passar",
]
SUBJECTS = [
    "Fråga om {a}",
    "Hur ansöker vi om {a}?",
    "Behöver vi {a}?",
    "Handläggningstid för {a}",
    "Vad kostar {a}?",
    "Hjälp med {a}",
]
TABLES = [
    "cases_case",
    "cases_company",
    "cases_casearea",
    "cases_casedepartment",
    "cases_caseownershipperiod",
    "cases_casefollower",
    "cases_caseevent",
    "cases_reminder",
    "outbox_outgoingemail",
]


def q1(sql, params=None):
    with connection.cursor() as c:
        c.execute(sql, params or [])
        row = c.fetchone()
        return row[0] if row else None


def execute(sql, params=None):
    with connection.cursor() as c:
        c.execute(sql, params or [])
        return c.rowcount


def seeded() -> bool:
    return bool(q1("SELECT to_regclass('bench_seed_meta') IS NOT NULL"))


def vacuum():
    connection.ensure_connection()
    raw = connection.connection
    old = raw.autocommit
    raw.autocommit = True
    try:
        with raw.cursor() as c:
            c.execute("VACUUM ANALYZE " + ", ".join(TABLES + ["bench_due"]))
    finally:
        raw.autocommit = old


class Command(BaseCommand):
    help = "Seed / reset / count the portal's bench cases (bench harness glue)."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true")
        parser.add_argument("--count", action="store_true")
        parser.add_argument("--form-started", action="store_true")

    def handle(self, n, seed, reset, count, form_started, **kw):
        if form_started:
            from cases.forms import form_started_value

            value = form_started_value(at=time.time() - 60, load_test=True)
            self.stdout.write(urllib.parse.quote(value, safe=""))
            return
        if count:
            if not seeded():
                self.stdout.write("0")
                return
            self.stdout.write(
                str(
                    q1(
                        "SELECT count(*) FROM cases_case WHERE id <= "
                        "(SELECT max_cases_case FROM bench_seed_meta)"
                    )
                )
            )
            return
        if reset:
            self.reset()
            return
        self.seed(n, seed)

    # ------------------------------------------------------------------ reset
    def reset(self):
        from cases.models import Case, Company

        if not seeded():
            raise CommandError("not seeded")
        t0 = time.time()
        self._wait_quiet()
        meta = dict(
            zip(
                [f"max_{t}" for t in TABLES],
                [q1(f"SELECT max_{t} FROM bench_seed_meta") for t in TABLES],  # noqa: S608
                strict=True,
            )
        )
        with transaction.atomic():
            new_cases = Case.objects.filter(id__gt=meta["max_cases_case"])
            n_cases = new_cases.count()
            if n_cases:
                new_cases.delete()  # the ORM cascades to everything hanging off a case
            n_comp, _ = Company.objects.filter(id__gt=meta["max_cases_company"]).delete()
            n_rem = execute(
                "DELETE FROM cases_reminder WHERE id > %s", [meta["max_cases_reminder"]]
            )
            n_mail = execute(
                "DELETE FROM outbox_outgoingemail WHERE id > %s", [meta["max_outbox_outgoingemail"]]
            )
            n_ev = execute(
                "DELETE FROM cases_caseevent WHERE id > %s", [meta["max_cases_caseevent"]]
            )
            execute("TRUNCATE cases_remindermark")  # no dead rows for the next sweep to read
            execute("DELETE FROM cases_referencecounter")
            execute("INSERT INTO cases_referencecounter SELECT * FROM bench_seed_refs")
        self._clear_redis()
        due = self._due_set()
        vacuum()
        self.stdout.write(
            f"reset: deleted {n_cases} new cases, {n_comp} companies/rows, {n_rem} reminders, "
            f"{n_mail} e-mails, {n_ev} events; due for the sweep: {due} cases; "
            f"{time.time() - t0:.1f}s"
        )

    @staticmethod
    def _wait_quiet(limit_s=60):
        """Wait until no other session of this database is running a query or holding a
        transaction open (a public-form request still in flight when wrk stopped: its
        transaction is 'idle in transaction' while Python routes and renders), twice in a
        row, so that reset never races a late submission."""
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
        )
        quiet = 0
        deadline = time.time() + limit_s
        while time.time() < deadline and quiet < 2:
            quiet = quiet + 1 if q1(sql) == 0 else 0
            time.sleep(0.5)

    @staticmethod
    def _clear_redis():
        from django.conf import settings
        from django.core.cache import cache

        try:
            import redis

            broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
            broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
            cache.clear()
        except Exception as error:  # noqa: BLE001
            print(f"warning: could not clear the bench broker queue / cache: {error}")

    @staticmethod
    def _due_set() -> int:
        """Cases the next sweep will remind about (the portal's own sources, nothing sent)."""
        from followup.reminders import SweepContext, _sources
        from foretagslots.benchmoment import bench_moment

        ctx = SweepContext(bench_moment() or timezone.now())
        case_ids = set()
        if ctx.is_working_day:
            for source in list(_sources):
                for c in source(ctx):
                    if c.recipient_email and c.case_id is not None:
                        case_ids.add(c.case_id)
        execute("DROP TABLE IF EXISTS bench_due")
        execute("CREATE TABLE bench_due (case_id bigint PRIMARY KEY)")
        with connection.cursor() as c:
            ids = sorted(case_ids)
            for i in range(0, len(ids), 20000):
                c.execute("INSERT INTO bench_due SELECT unnest(%s::bigint[])", [ids[i : i + 20000]])
        return len(case_ids)

    # ------------------------------------------------------------------ seed
    def seed(self, n, seed):
        from cases.deadlines import add_working_days
        from cases.models import (
            Case,
            CaseEvent,
            CaseOwnershipPeriod,
            Company,
            ReferenceCounter,
        )
        from departments.models import ResponsibilityArea
        from foretagslots.management.commands.seed_bulk_cases import Command as BulkSeed
        from foretagslots.management.commands.seed_bulk_cases import bulk_case_rows

        if seeded():
            raise CommandError("already seeded: rebuild the database first (setup_portal.sh)")
        rnd = random.Random(seed)
        t0 = time.time()
        now = timezone.now()
        areas = list(ResponsibilityArea.objects.select_related("owner").filter(is_active=True))
        if not areas:
            raise CommandError("no responsibility areas: run manage.py seed_norrtalje first")
        officers = BulkSeed()._staff()  # the project's bulk staff: 3 officers + lead per unit
        from django.contrib.auth import get_user_model

        names = dict(get_user_model().objects.values_list("pk", "username"))
        chan_names = [c for c, _ in CHANNELS]
        chan_w = [w for _, w in CHANNELS]

        with transaction.atomic():
            companies = Company.objects.bulk_create(
                [Company(name=f"Bulkföretaget {i} AB") for i in range(max(1, n // 4))],
                batch_size=BATCH,
            )

        def text(k):
            return " ".join(rnd.choice(WORDS) for _ in range(k)).capitalize() + "."

        plans = []
        for _ in range(n):
            r = rnd.random() ** 0.85  # 0 = two years ago, 1 = now; skewed recent
            received = min(
                now - SPAN * (1 - r) + dt.timedelta(seconds=rnd.randint(0, 3600)),
                now - dt.timedelta(minutes=5),
            )
            is_open = rnd.random() < 0.10 + 0.40 * r
            area = rnd.choice(areas)
            unit_id = area.owner_id
            owner_id = (
                rnd.choice(officers[unit_id])
                if officers.get(unit_id) and rnd.random() < 0.75
                else None
            )
            answered = received + dt.timedelta(hours=rnd.uniform(1, 72))
            fields = {
                "company": rnd.choice(companies),
                "contact_name": f"Kontakt {rnd.randint(1, 20000)}",
                "contact_email": f"kontakt{rnd.randint(1, 20000)}@example.invalid",
                "subject": rnd.choice(SUBJECTS).format(a=area.name.lower())[:200],
                "description": text(rnd.randint(20, 80)),
                "channel": rnd.choices(chan_names, chan_w)[0],
                "owning_department_id": unit_id,
                "owner_id": owner_id,
                "primary_area": area,
                "insikt_area": area.insikt_area,
                "received_at": received,
                "first_answer_due": add_working_days(received, area.first_answer_days),
                "due_at": add_working_days(received, area.resolution_days),
                "routing_confidence": round(rnd.uniform(0.4, 0.95), 3),
            }
            if not is_open:
                fields.update(
                    status=Case.Status.CLOSED,
                    first_answered_at=min(answered, now),
                    closed_at=min(received + dt.timedelta(days=rnd.uniform(1, 40)), now),
                )
            elif rnd.random() < 0.03:  # on hold: waiting for the company
                fields.update(
                    status=Case.Status.WAITING_FOR_COMPANY,
                    first_answered_at=min(answered, now),
                    waiting_since=min(
                        received + dt.timedelta(days=rnd.uniform(1, 10)),
                        now - dt.timedelta(hours=1),
                    ),
                )
            elif owner_id is not None:
                fields.update(
                    status=Case.Status.IN_PROGRESS,
                    first_answered_at=(answered if answered < now and rnd.random() < 0.9 else None),
                )
            else:
                fields.update(status=Case.Status.RECEIVED, needs_triage=rnd.random() < 0.2)
            plans.append(fields)
        plans.sort(key=lambda f: f["received_at"])  # ids follow arrival, as in production

        # references per arrival year, continuing the project's ReferenceCounter
        from django.conf import settings

        per_year = {}
        for f in plans:
            year = timezone.localtime(f["received_at"]).year
            per_year[year] = per_year.get(year, 0) + 1
            f["reference"] = f"{settings.CASE_REFERENCE_PREFIX}-{year}-{per_year[year]:05d}"
        with transaction.atomic():
            for year, last in per_year.items():
                ReferenceCounter.objects.update_or_create(year=year, defaults={"last_number": last})

        done = 0
        n_ev = 0
        for start in range(0, n, BATCH):
            chunk = plans[start : start + BATCH]
            with transaction.atomic():
                cases = Case.objects.bulk_create([Case(**f) for f in chunk], batch_size=BATCH)
                bulk_case_rows(cases)
                CaseOwnershipPeriod.objects.bulk_create(
                    [
                        CaseOwnershipPeriod(
                            case=c,
                            department_id=c.owning_department_id,
                            started_at=c.received_at,
                            ended_at=c.closed_at,
                        )
                        for c in cases
                    ],
                    batch_size=BATCH,
                )
                events = []
                for c in cases:
                    events.append(
                        CaseEvent(
                            case=c,
                            kind=CaseEvent.Kind.CREATED,
                            created_at=c.received_at,
                            is_public=True,
                            data={"channel": c.channel, "reference": c.reference, "bulk": True},
                        )
                    )
                    events.append(
                        CaseEvent(
                            case=c,
                            kind=CaseEvent.Kind.ROUTED,
                            created_at=c.received_at,
                            is_public=True,
                            data={
                                "department_id": c.owning_department_id,
                                "areas": [c.primary_area.slug],
                                "confidence": c.routing_confidence,
                                "needs_triage": c.needs_triage,
                                "bulk": True,
                            },
                        )
                    )
                    if c.owner_id:
                        events.append(
                            CaseEvent(
                                case=c,
                                kind=CaseEvent.Kind.ASSIGNED,
                                created_at=c.received_at,
                                is_public=True,
                                data={"owner": names.get(c.owner_id, ""), "automatic": True},
                            )
                        )
                    if c.closed_at:
                        events.append(
                            CaseEvent(
                                case=c,
                                kind=CaseEvent.Kind.CLOSED,
                                created_at=c.closed_at,
                                is_public=True,
                                data={"bulk": True},
                            )
                        )
                CaseEvent.objects.bulk_create(events, batch_size=BATCH)
                n_ev += len(events)
            done += len(chunk)
            if done % 20000 == 0 or done == n:
                print(f"  {done}/{n} cases, {n_ev} events, {time.time() - t0:.0f}s", flush=True)

        with transaction.atomic():
            execute("DROP TABLE IF EXISTS bench_seed_meta")
            execute("DROP TABLE IF EXISTS bench_seed_refs")
            cols = ", ".join(
                f"(SELECT coalesce(max(id), 0) FROM {t}) AS max_{t}"  # noqa: S608
                for t in TABLES
            )
            execute(f"CREATE TABLE bench_seed_meta AS SELECT {cols}")  # noqa: S608
            execute("CREATE TABLE bench_seed_refs AS SELECT * FROM cases_referencecounter")
        due = self._due_set()
        vacuum()
        total = Case.objects.count()
        open_n = Case.objects.open().count()
        self.stdout.write(
            f"seeded {n} cases ({total} total, {open_n} open = {100 * open_n / total:.1f}%), "
            f"{n_ev} events; due for the sweep: {due} cases; {time.time() - t0:.0f}s"
        )
