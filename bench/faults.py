"""Scripted fault check: PostgreSQL restarts while companies submit the form.

    .venv/bin/python bench/faults.py [--port 8106] [--clients 10] [--seconds 30]

NEVER run this while other tests use the local PostgreSQL: it restarts the cluster
(`pg_ctlcluster --skip-systemctl-redirect 15 main restart`) halfway through, and always makes
sure it is running again at the end.

Against gunicorn (no access log) on the database fl_bench_faults with Redis, clients submit
the question form; during the restart requests may fail, but only cleanly (an HTTP error or a
refused connection, never a half-saved case). Checks afterwards: the portal answers again,
every accepted submission (302) is a complete case (areas, owner unit row, follower, CREATED
event, receipt), and no case exists without those (nothing half-saved).
"""

import argparse
import subprocess
import sys
import threading
import time
from collections import Counter

import requests
from load_public_form import PY, ROOT, client, env_for, manage

DB = "fl_bench_faults"
PG = "postgres://postgres@127.0.0.1:5432"
RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]
START = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"]


def pg_up() -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{PG}/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def ensure_pg_running():
    for _ in range(30):
        if pg_up():
            return
        subprocess.run(START, capture_output=True)
        time.sleep(1)
    raise SystemExit("PostgreSQL is not running again: start it by hand!")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8106)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    env = {**env_for(args.port), "DATABASE_URL": f"{PG}/{DB}"}
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    manage(env, "migrate", "--noinput", stdout=subprocess.DEVNULL)
    manage(env, "seed_norrtalje", stdout=subprocess.DEVNULL)

    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "foretagslots.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            "2",
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
        time.sleep(3)
        results = []
        stop_at = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client, args=(base, stop_at, results, i))
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds / 3)
        print("Restarting PostgreSQL …", flush=True)
        subprocess.run(RESTART, check=False)
        for thread in threads:
            thread.join()
        ensure_pg_running()
        after = requests.get(f"{base}/fraga/", timeout=30).status_code
    finally:
        server.terminate()
        server.wait(timeout=30)
        ensure_pg_running()

    statuses = Counter((kind, status) for kind, status, _ in results)
    accepted = [email for kind, status, email in results if kind == "post" and status == 302]
    code = (
        "import django,json,sys; django.setup();"
        "from django.db.models import Count, Q;"
        "from cases.models import Case;"
        "from django.db.models import Exists, OuterRef;"
        "from outbox.models import OutgoingEmail;"
        "emails=json.load(sys.stdin);"
        "qs=Case.objects.annotate(a=Count('case_areas',distinct=True),"
        "d=Count('case_departments',filter=Q(case_departments__role='owner'),distinct=True),"
        "f=Count('followers',distinct=True),"
        "e=Count('events',filter=Q(events__kind='created'),distinct=True),"
        "r=Exists(OutgoingEmail.objects.filter(subject_id=OuterRef('pk'),kind='receipt')));"
        "half=qs.filter(Q(d=0)|Q(f=0)|Q(e=0)|Q(r=False)).count();"
        "found=qs.filter(contact_email__in=emails).count();"
        "print(json.dumps({'cases':qs.count(),'half_saved':half,'accepted_found':found}))"
    )
    import json

    out = subprocess.run(
        [PY, "-c", code],
        cwd=ROOT,
        input=json.dumps(accepted),
        capture_output=True,
        text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "foretagslots.settings"},
        check=True,
    )
    check = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"responses: {dict(statuses)}")
    print(f"form after the restart: HTTP {after}")
    print(
        f"accepted: {len(accepted)}, found as cases: {check['accepted_found']}, "
        f"cases in all: {check['cases']}, half-saved: {check['half_saved']}"
    )
    ok = after == 200 and check["half_saved"] == 0 and check["accepted_found"] == len(accepted)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    sys.exit(main())
