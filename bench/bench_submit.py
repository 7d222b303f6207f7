"""CPU, SQL and calls per public submission, in-process (issue 14's submit goal).

    DJANGO_SETTINGS_MODULE=foretagslots.settings_bench PORTAL_BENCH_DB=<db> \
        .venv/bin/python bench/bench_submit.py [--n 300] [--profile out [--cpu-profile]] [--sql]

Run from a checkout's root against a seeded bench database (`bench_seed --n 100000`): posts
the harness's form data (its load-test `form_started` value, a CSRF cookie and token from a
GET of the form, as `http_prep.py` does) through `django.test.Client` with the CSRF check
on, and prints per submission: the test process's CPU (`time.process_time`), the PostgreSQL
backend's CPU (its /proc stat, same machine), wall time, SQL statements and, with --profile,
function calls. Compare two checkouts on the same database interleaved: the load of the box
moves wall time, much less the CPU and not the counts.
"""

import argparse
import cProfile
import json
import os
import pstats
import re
import statistics
import sys
import time
from urllib.parse import parse_qsl, urlencode

sys.path.insert(0, os.getcwd())
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from cases.forms import form_started_value  # noqa: E402

FORM = (
    "org_number=556036-0793&company_name=Kaf%C3%A9+Hamnen+AB&contact_name=Vera+Visitor"
    "&email=visitor%40example.org&phone=%2B46+176+123+45&area=&subject=Uteservering+vid+"
    "v%C3%A5rt+kaf%C3%A9&description=Vi+driver+ett+kaf%C3%A9+i+centrala+Norrt%C3%A4lje+och+"
    "vill+ha+uteservering+p%C3%A5+trottoaren+utanf%C3%B6r+fr%C3%A5n+maj+till+september.+Vad+"
    "beh%C3%B6ver+vi+s%C3%B6ka+och+hur+l%C3%A5ng+tid+tar+det%3F&consent=on&website="
)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TICK = os.sysconf("SC_CLK_TCK")
FORM_TYPE = "application/x-www-form-urlencoded"


def backend_cpu() -> float:
    """User + system CPU seconds of this connection's PostgreSQL backend."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warm", type=int, default=20)
    parser.add_argument("--profile", default="")
    parser.add_argument(
        "--cpu-profile", action="store_true", help="profile CPU time, not wall (waits excluded)"
    )
    parser.add_argument("--sql", action="store_true", help="print one submission's statements")
    args = parser.parse_args()

    client = Client(enforce_csrf_checks=True)
    page = client.get("/fraga/")
    token = TOKEN.search(page.content.decode()).group(1)
    data = dict(parse_qsl(FORM, keep_blank_values=True))
    data["form_started"] = form_started_value(at=time.time() - 60, load_test=True)
    data["csrfmiddlewaretoken"] = token
    body = urlencode(data)  # urlencoded, as wrk posts it (the test client would send multipart)

    def submit():
        # Like the harness (wrk replays one Cookie header): only the CSRF cookie goes back;
        # the messages cookie set by the last answer (never read: no redirect is followed)
        # would otherwise grow until it spills into a session row.
        for name in list(client.cookies):
            if name != "csrftoken":
                del client.cookies[name]
        response = client.post("/fraga/", body, content_type=FORM_TYPE)
        assert response.status_code == 302, response.status_code
        return response

    for _ in range(args.warm):
        submit()
    with CaptureQueriesContext(connection) as queries:
        submit()
    captured = list(queries.captured_queries)  # the next request empties the log
    if args.sql:
        for query in captured:
            print(f"{float(query['time']) * 1000:6.2f} ms  {query['sql'][:200]}")

    timer = (time.process_time,) if args.cpu_profile else ()
    profiler = cProfile.Profile(*timer) if args.profile else None
    walls = []
    cpu0, pg0 = time.process_time(), backend_cpu()
    if profiler:
        profiler.enable()
    for _ in range(args.n):
        start = time.perf_counter()
        submit()
        walls.append(time.perf_counter() - start)
    if profiler:
        profiler.disable()
    cpu = (time.process_time() - cpu0) / args.n
    pg = (backend_cpu() - pg0) / args.n
    result = {
        "n": args.n,
        "statements": len(captured),
        "cpu_ms": round(cpu * 1000, 2),
        "pg_cpu_ms": round(pg * 1000, 2),
        "wall_median_ms": round(statistics.median(walls) * 1000, 2),
        "wall_p95_ms": round(sorted(walls)[int(len(walls) * 0.95)] * 1000, 2),
        "load": os.getloadavg()[0],
    }
    if profiler:
        profiler.dump_stats(args.profile)
        stats = pstats.Stats(profiler)
        result["calls_per_request"] = round(stats.total_calls / args.n)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
