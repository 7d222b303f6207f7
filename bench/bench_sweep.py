"""Reminder sweep benchmark: one sweep over 100 000 open cases on PostgreSQL, and a second.

    .venv/bin/python bench/bench_sweep.py [--cases N] [--reuse] [--check]

Creates (drops first) the database in BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/fl_bench_sweep), migrates it, seeds Norrtälje's units and
`manage.py seed_bulk_cases --cases N` (about 5 % due for a reminder or an escalation), then
times `followup.reminders.reminder_sweep()`: the first sweep records the Reminder rows, their
e-mails and events, and queues the e-mails on the broker after commit; the second, right
after, must send nothing. The broker is BENCH_BROKER_URL (default redis://127.0.0.1:6379/5)
on a queue of its own that is deleted afterwards, so no worker sends the mails.
`--reuse` keeps the seeded cases and only clears earlier reminders. `--check` exits 1 when a
target (first < 5 s, second < 1 s and sending nothing) is missed.
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_FIRST, TARGET_SECOND = 5.0, 1.0


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    db_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fl_bench_sweep"
    )
    broker = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/5")
    queue = f"bench-sweep-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "EMAIL_URL": "dummymail://",
            "DJANGO_SETTINGS_MODULE": "foretagslots.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    if not args.reuse:
        recreate_database(db_url)

    import django

    django.setup()
    from django.core.management import call_command

    from cases.models import Case, CaseEvent, Reminder
    from followup.reminders import reminder_sweep
    from outbox.models import OutgoingEmail

    if not args.reuse:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("seed_norrtalje", verbosity=0)
        call_command("seed_bulk_cases", cases=args.cases, verbosity=0)
        print(f"seeded {args.cases} open cases in {time.perf_counter() - started:.1f} s")
    else:
        Reminder.objects.all().delete()
        OutgoingEmail.objects.all().delete()
        CaseEvent.objects.filter(kind__in=["reminder_sent", "escalated"]).delete()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    open_cases = Case.objects.open().count()
    timings = []
    reports = []
    for _ in range(2):
        started = time.perf_counter()
        reports.append(reminder_sweep())
        timings.append(time.perf_counter() - started)

    import redis

    queued_batches = redis.Redis.from_url(broker).llen(queue)
    redis.Redis.from_url(broker).delete(queue)
    first, second = reports
    print(f"open cases: {open_cases}; load average while measuring: {os.getloadavg()[0]:.1f}")
    print(
        f"first sweep:  {timings[0]:.2f} s  reminders {first.total} "
        f"({', '.join(first.lines())}); e-mails pending {OutgoingEmail.objects.count()}, "
        f"send batches queued {queued_batches}"
    )
    print(f"second sweep: {timings[1]:.2f} s  reminders {second.total}")
    ok = timings[0] < TARGET_FIRST and timings[1] < TARGET_SECOND and second.total == 0
    print(
        f"targets: first < {TARGET_FIRST:.0f} s, second < {TARGET_SECOND:.0f} s and sending "
        f"nothing: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
