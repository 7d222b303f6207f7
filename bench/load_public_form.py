"""Load test of the public question form: N concurrent clients for D seconds against gunicorn
on PostgreSQL and Redis, while the reminder sweep runs in a loop.

    .venv/bin/python bench/load_public_form.py [--clients 50] [--seconds 60] [--port 8105]

Creates (drops first) the database fl_bench_load, migrates and seeds it, starts gunicorn
(no access log: request lines would carry tracking tokens) with rate limits raised and a
fill time of 0 s, and runs the clients. Each client GETs the form (CSRF cookie, token, signed
start time), waits briefly, POSTs, and follows nothing. Checks at the end: zero 5xx, every
accepted submission (302 to a tracking page) is a case with a receipt row in the outbox,
no duplicate references. Exits 1 when a check fails.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DB = "fl_bench_load"
PG = "postgres://postgres@127.0.0.1:5432"


def env_for(port: int) -> dict:
    return {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"{PG}/{DB}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/5",
        "CACHE_URL": "redis://127.0.0.1:6379/6",
        "RATELIMIT_ASK": "100000/h",
        "FORM_MIN_FILL_SECONDS": "0",
        "CONN_MAX_AGE": "0",
        "EMAIL_URL": "dummymail://",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }


def manage(env, *args, **kwargs):
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, **kwargs)


def prepare(env):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    manage(env, "migrate", "--noinput", stdout=subprocess.DEVNULL)
    manage(env, "seed_norrtalje", stdout=subprocess.DEVNULL)
    manage(env, "seed_demo", "--cases", "0", stdout=subprocess.DEVNULL)


FIELDS = {
    "company_name": "Lasttest AB",
    "contact_name": "Lasse Test",
    "phone": "",
    "area": "",
    "subject": "Uteservering på torget",
    "description": "Vi vill ställa ut bord och stolar på torget i sommar och servera mat.",
    "consent": "on",
    "website": "",
    "org_number": "",
}


def client(base, stop_at, results, index):
    session = requests.Session()
    n = 0
    while time.monotonic() < stop_at:
        n += 1
        try:
            page = session.get(f"{base}/fraga/", timeout=30)
            if page.status_code >= 500:
                results.append(("get", page.status_code, None))
                continue
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
            started = re.search(r'name="form_started" value="([^"]+)"', page.text)[1]
            time.sleep(0.05)
            data = {
                **FIELDS,
                "email": f"c{index}-{n}@example.se",
                "csrfmiddlewaretoken": token,
                "form_started": started,
            }
            response = session.post(
                f"{base}/fraga/",
                data=data,
                headers={"Referer": f"{base}/fraga/"},
                allow_redirects=False,
                timeout=30,
            )
            location = response.headers.get("Location", "")
            results.append(("post", response.status_code, data["email"] if location else None))
        except requests.RequestException as error:
            results.append(("error", type(error).__name__, None))


def sweep_loop(env, stop_at, counter):
    while time.monotonic() < stop_at:
        subprocess.run(
            [PY, "manage.py", "sweep_reminders"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        counter.append(1)


def verify(env, accepted_emails):
    code = (
        "import django,json,sys; django.setup();"
        "from cases.models import Case; from outbox.models import OutgoingEmail;"
        "emails=json.load(sys.stdin);"
        "cases=Case.objects.filter(contact_email__in=emails);"
        "refs=list(cases.values_list('reference',flat=True));"
        "receipts=OutgoingEmail.objects.filter(kind='receipt',case__in=cases)"
        ".values_list('to',flat=True).distinct().count();"
        "print(json.dumps({'cases':cases.count(),'distinct_refs':len(set(refs)),"
        "'receipts':receipts,'all_refs':Case.objects.count(),"
        "'all_distinct':Case.objects.values('reference').distinct().count()}))"
    )
    import json

    out = subprocess.run(
        [PY, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "foretagslots.settings"},
        input=json.dumps(accepted_emails),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    env = env_for(args.port)
    print(f"Preparing {DB} …", flush=True)
    prepare(env)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "foretagslots.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            "4",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/halsa/", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        results, sweeps = [], []
        stop_at = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(base, stop_at, results, i))
            for i in range(args.clients)
        ]
        threads.append(threading.Thread(target=sweep_loop, args=(env, stop_at, sweeps)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    statuses = Counter((kind, status) for kind, status, _ in results)
    accepted = [email for kind, status, email in results if kind == "post" and status == 302]
    five_xx = sum(c for (k, s), c in statuses.items() if isinstance(s, int) and s >= 500)
    errors = sum(c for (k, _s), c in statuses.items() if k == "error")
    check = verify(env, accepted)
    print(f"{args.clients} clients, {elapsed:.0f} s, {len(sweeps)} sweeps run alongside")
    print(f"responses: {dict(statuses)}")
    print(f"accepted submissions: {len(accepted)} ({len(accepted) / elapsed:.1f}/s)")
    print(f"5xx: {five_xx}, connection errors: {errors}")
    print(
        f"cases for accepted: {check['cases']}, with receipt: {check['receipts']}, "
        f"distinct references: {check['all_distinct']} of {check['all_refs']}"
    )
    ok = (
        five_xx == 0
        and errors == 0
        and check["cases"] == len(accepted)
        and check["receipts"] == len(accepted)
        and check["all_distinct"] == check["all_refs"]
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
