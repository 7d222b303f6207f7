"""A real Celery worker on the local Redis sends a reminder e-mail and, through its outbox
relay, a submission's receipt (PostgreSQL + Redis, CI)."""

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cases.models import Case, Reminder
from followup.tasks import reminder_sweep_task
from foretagslots.celery import app as celery_app
from outbox.models import OutgoingEmail
from tests.factories import CaseFactory, DepartmentFactory, officer, submit_question

BASE_DIR = Path(settings.BASE_DIR)
KOMBU_DEADLINES = "_kombu.binding_deadlines"


def _database_url() -> str:
    """The test database (test_<name>) as a URL the worker process can use."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker(require_postgres, require_redis, tmp_path):
    """A `celery worker --pool=solo --beat` process on the test database and its own queue."""
    queue = f"fl-test-{uuid.uuid4().hex[:12]}"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": require_redis,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
        "DJANGO_SETTINGS_MODULE": "foretagslots.settings",
        "CONN_MAX_AGE": "0",
    }
    import redis

    broker = redis.Redis.from_url(require_redis)
    kombu_keys = set(broker.keys("_kombu*"))
    deadlines = set(broker.zrange(KOMBU_DEADLINES, 0, -1))
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "foretagslots",
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            # Beat inside the worker, as Procfile.dev runs it: the outbox relay every second.
            "--beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield {"mail_dir": mail_dir, "process": process, "log": tmp_path / "worker.log"}
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        # The queue and what kombu wrote for this worker (bindings, its control box): no
        # stray keys after the run.
        broker.delete(queue, *(set(broker.keys("_kombu*")) - kombu_keys))
        added = set(broker.zrange(KOMBU_DEADLINES, 0, -1)) - deadlines
        if added:
            broker.zrem(KOMBU_DEADLINES, *added)


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.25)
    return None


@pytest.mark.django_db(transaction=True)
def test_a_reminder_email_arrives_through_a_real_worker(worker):
    unit = DepartmentFactory(slug="bygglov", name="Bygglov", email="bygglov@norrtalje.se")
    anna = officer(unit, username="anna")
    today = timezone.localdate()
    case = CaseFactory(
        owning_department=unit,
        owner=anna,
        status=Case.Status.IN_PROGRESS,
        first_answered_at=timezone.now(),
        # Long overdue, so the owner is reminded whatever day the test runs on (on a weekend
        # the sweep sends nothing: then only the day-off rule is checked).
        due_at=today - dt.timedelta(days=30),
    )

    reminder_sweep_task.delay()  # through Redis to the worker, which runs the sweep

    from cases.deadlines import is_working_day

    if not is_working_day(today):
        time.sleep(5)
        assert not Reminder.objects.exists()
        return

    def mail_arrived():
        for path in worker["mail_dir"].glob("*.log"):
            text = path.read_text(encoding="utf-8", errors="replace")
            if case.reference in text and "anna@norrtalje.se" in text:
                return text
        return None

    text = _wait_for(mail_arrived)
    assert text, worker["log"].read_text()
    assert "Subject:" in text
    reminder = Reminder.objects.get(case=case, kind="overdue")
    assert reminder.email.status == OutgoingEmail.Status.SENT
    assert worker["process"].poll() is None  # the worker is still running


@pytest.mark.django_db(transaction=True)
def test_a_submissions_receipt_arrives_once_through_the_workers_relay(
    worker, client, norrtalje, settings
):
    """The request only writes the receipt's row; the worker's beat-driven relay renders and
    sends it about a second later, and the relays after it do not send it again."""
    settings.OUTBOX_SEND_ON_COMMIT = False  # as in production
    settings.FORM_MIN_FILL_SECONDS = 0
    response = submit_question(client)
    assert response.status_code == 302
    case = Case.objects.get()
    receipt = OutgoingEmail.objects.get(subject_id=case.pk, kind="receipt")
    threaded = f"In-Reply-To: <{case.reference}@"  # once in every mail about the case

    def copies_sent():
        return sum(
            path.read_text(encoding="utf-8", errors="replace").count(threaded)
            for path in worker["mail_dir"].glob("*.log")
        )

    assert _wait_for(copies_sent), worker["log"].read_text()
    time.sleep(3)  # three more relays
    assert copies_sent() == 1
    receipt.refresh_from_db()
    assert receipt.status == OutgoingEmail.Status.SENT and receipt.attempts == 1
    assert case.reference in receipt.body
    assert worker["process"].poll() is None
