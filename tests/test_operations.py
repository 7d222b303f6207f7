"""Operations: odd bytes, a lost database, caching of private pages, logs and login abuse."""

import logging
import os
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

from cases.models import Case
from foretagslots.log_filters import RedactTokensFilter
from tests.factories import CaseFactory, DepartmentFactory, UserFactory, coordinator, officer

pytestmark = pytest.mark.django_db


# --- Odd bytes: 400 or 404, never 500 (also on PostgreSQL, which cannot hold a NUL) ----------


@pytest.fixture
def staff_client(client):
    client.force_login(coordinator())
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/omdome/%00abcdefghijklmnopqrstuvwxyz/",
        "/arende/%00abcdefghijklmnopqrstuvwxyz0123/",
        "/handlaggning/arenden/FL-2026-00001%00/",
        "/lots/export/arenden.csv?unit=%00",
        "/lots/moten/boka/FL%00/",
        "/ansvar/?q=%00",
        "/fraga/?x=a%00b",
    ],
)
def test_nul_bytes_in_addresses_answer_400_or_404(staff_client, url):
    response = staff_client.get(url)
    assert response.status_code in (400, 404), response.status_code
    assert "<html" in response.content.decode()


@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "x-no-such-charset"])
def test_a_form_posted_in_another_charset_answers_400(client, norrtalje, charset):
    client.raise_request_exception = False
    body = "subject=Hej&description=Hall%C3%A5".encode("utf-16") if charset == "utf-16" else b"a=b"
    response = client.generic(
        "POST",
        reverse("cases_public:ask"),
        body,
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
    )
    assert response.status_code == 400
    assert "kunde inte läsas" in response.content.decode()
    assert not Case.objects.exists()


def test_a_body_over_the_limit_answers_413(client, settings):
    settings.REQUEST_BODY_MAX_BYTES = 1000
    response = client.post(
        reverse("cases_public:ask"),
        "x=" + "a" * 2000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413 and "för stort" in response.content.decode()


# --- A lost database --------------------------------------------------------------------


def test_a_lost_database_answers_a_swedish_503_with_retry_after(client):
    client.raise_request_exception = False
    lost = OperationalError("server closed the connection unexpectedly")
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=lost):
        response = client.get(reverse("departments:map"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert '<html lang="sv">' in html and "tillfälligt otillgänglig" in html


def test_other_errors_still_answer_the_500_page(client):
    client.raise_request_exception = False
    with mock.patch("departments.views.render", side_effect=RuntimeError("bug")):
        response = client.get(reverse("departments:map"))
    assert response.status_code == 500 and "Något gick fel" in response.content.decode()


def test_persistent_connections_are_health_checked(settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


# --- Private pages are never cached ---------------------------------------------------------


def test_staff_pages_and_exports_are_private_and_not_stored(staff_client, norrtalje):
    for url in [reverse("staff:home"), reverse("insights:export_cases"), reverse("login")]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_public_start_page_may_be_cached(client):
    assert "no-store" not in client.get(reverse("home")).get("Cache-Control", "")


# --- Tokens never reach the logs ------------------------------------------------------------


def test_every_log_handler_redacts_tokens_in_paths():
    token = "Abc123_-" * 5
    record = logging.LogRecord(
        "django.security.csrf",
        logging.WARNING,
        __file__,
        1,
        "Forbidden (%s): %s",
        ("CSRF token missing.", f"/arende/{token}/skriv/"),
        None,
    )
    assert RedactTokensFilter().filter(record)
    assert token not in record.getMessage()
    assert record.getMessage() == "Forbidden (CSRF token missing.): /arende/[dolt]/skriv/"
    for handler in logging.getLogger().handlers:
        if handler.__class__.__module__.startswith("_pytest"):
            continue
        assert any(isinstance(f, RedactTokensFilter) for f in handler.filters), handler


def test_a_csrf_failure_on_a_tracking_page_logs_no_token(client, caplog):
    from django.test import Client

    follower = CaseFactory().followers.get()
    csrf_client = Client(enforce_csrf_checks=True)
    with caplog.at_level(logging.WARNING):
        csrf_client.post(
            reverse("cases_public:tracking_message", args=[follower.token]), {"body": "x"}
        )
    logged = [RedactTokensFilter().filter(r) and r.getMessage() for r in caplog.records]
    assert logged and not [m for m in logged if follower.token in m]


def test_the_relays_routine_celery_lines_stay_out_of_the_log(caplog):
    """The relays run every second: Celery's sent / received / succeeded lines for them would
    fill the worker's log; other tasks' lines and a relay's errors are still written."""
    relay = {"name": "outbox.tasks.email_relay_task", "id": "r1", "runtime": 0.002}
    send = {"name": "outbox.tasks.email_send_task", "id": "s1", "runtime": 0.1}
    succeeded = "Task %(name)s[%(id)s] succeeded in %(runtime)ss: None"
    with caplog.at_level(logging.INFO):
        logging.getLogger("celery.beat").info(
            "Scheduler: Sending due task %s (%s)", "outbox-relay", relay["name"]
        )
        logging.getLogger("celery.worker.strategy").info("Task %(name)s[%(id)s] received", relay)
        logging.getLogger("celery.app.trace").info(succeeded, relay)
        logging.getLogger("celery.app.trace").info(succeeded, send)
        logging.getLogger("celery.app.trace").error(
            "Task %(name)s[%(id)s] raised unexpected: %(exc)s", {**relay, "exc": "timeout"}
        )
    assert [record.getMessage() for record in caplog.records] == [
        "Task outbox.tasks.email_send_task[s1] succeeded in 0.1s: None",
        "Task outbox.tasks.email_relay_task[r1] raised unexpected: timeout",
    ]


# --- Login lock-out behind the proxy, and password spraying -----------------------------------


def _login(client, username, password, address):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.2",  # the proxy
        HTTP_X_FORWARDED_FOR=address,
    )


def test_behind_the_proxy_an_attacker_cannot_lock_out_the_real_user(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    officer(DepartmentFactory(), username="gatu-park.2").set_password("ett-riktigt-bra-losenord")
    user = UserFactory(username="gatu-park.3", password="ett-riktigt-bra-losenord")
    for _ in range(30):
        _login(client, user.username, "fel-losenord-123", "203.0.113.5")
    attacker = _login(client, user.username, "ett-riktigt-bra-losenord", "203.0.113.5")
    assert attacker.status_code in (403, 429)

    response = _login(client, user.username, "ett-riktigt-bra-losenord", "198.51.100.7")

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_password_spraying_from_one_address_is_throttled_across_usernames(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    users = [
        UserFactory(username=f"user{n}", password="ett-riktigt-bra-losenord") for n in range(30)
    ]
    answers = []
    for password in ["Sommar2026!", "Norrtalje1", "Lösenord123", "Hemligt!!"]:
        for user in users:
            answers.append(_login(client, user.username, password, "203.0.113.9").status_code)
    assert answers.count(429) >= len(answers) - 25
    # the sprayer is stopped even with a right password ...
    assert _login(client, "user0", "ett-riktigt-bra-losenord", "203.0.113.9").status_code == 429
    # ... and colleagues at other addresses log in as usual
    assert _login(client, "user1", "ett-riktigt-bra-losenord", "198.51.100.7").status_code == 302


# --- A fresh clone ----------------------------------------------------------------------------


def test_env_example_can_be_copied_to_env_as_it_is(tmp_path):
    """Every line a comment, blank or KEY=value, with nothing after the value that would
    become part of it; and the settings load from it."""
    import environ
    from django.conf import settings

    example = Path(settings.BASE_DIR) / ".env.example"
    for number, line in enumerate(example.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        assert key.isupper() and key.replace("_", "").isalnum(), (number, line)
        assert " #" not in value and "\t#" not in value, (number, line)
    with mock.patch.dict(os.environ, {}, clear=True):
        environ.Env.read_env(str(example), overwrite=True)
        values = {k: os.environ[k] for k in ("DEBUG", "CONN_MAX_AGE", "TRUSTED_PROXY_COUNT")}
        env = environ.Env()
        assert env.cache("CACHE_URL")["BACKEND"].endswith("RedisCache")
        assert env.db("DATABASE_URL")["NAME"] == "foretagslots"
    assert values == {"DEBUG": "1", "CONN_MAX_AGE": "60", "TRUSTED_PROXY_COUNT": "0"}


def test_settings_make_the_runtime_folders_so_beat_and_worker_start_from_a_fresh_clone(
    tmp_path,
):
    import shutil
    import subprocess
    import sys

    from django.conf import settings

    clone = tmp_path / "clone"
    shutil.copytree(
        settings.BASE_DIR,
        clone,
        ignore=shutil.ignore_patterns(".venv", "var", ".git", "db.sqlite3*", ".env", "tests"),
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE"))}
    script = (
        "import django; django.setup(); from foretagslots.celery import app; "
        "print(app.conf.beat_schedule_filename)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=clone,
        env={**environment, "DJANGO_SETTINGS_MODULE": "foretagslots.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (clone / "var").is_dir()
    assert (clone / "var" / "celery-broker" / "control").is_dir()
    assert not (clone / "control").exists()


def test_beat_runs_each_job_on_its_schedule_and_the_relays_every_second():
    """The schedule is data in the settings (loading them does not import Celery, which a web
    worker does not need); the worker's app turns crontab fields into crontabs."""
    import subprocess
    import sys

    from django.conf import settings

    script = (
        "import sys, django; django.setup()\n"
        "from django.conf import settings\n"
        "assert 'celery' not in sys.modules, 'the settings imported Celery'\n"
        "from celery.schedules import crontab\n"
        "from foretagslots.celery import app\n"
        "beat = app.conf.beat_schedule\n"
        "assert beat['retention']['schedule'] == crontab(hour=2, minute=30)\n"
        "assert beat['router-retrain']['schedule'] == crontab(minute=15)\n"
        "digest = crontab(hour=7, minute=0, day_of_week='mon-fri')\n"
        "assert beat['morning-digest']['schedule'] == digest\n"
        "assert beat['reminder-sweep']['schedule'] == settings.CELERY_BEAT_SCHEDULE"
        "['reminder-sweep']['schedule'] == 900\n"
        "relay = beat['outbox-relay']\n"
        "assert relay['task'] == 'outbox.tasks.email_relay_task' and relay['schedule'] == 1.0\n"
        "scans, hooks = beat['attachment-scan-relay'], beat['webhook-relay']\n"
        "assert scans['task'] == 'cases.tasks.attachment_scan_relay_task'\n"
        "assert hooks['task'] == 'api.tasks.webhook_relay_task'\n"
        "assert scans['schedule'] == hooks['schedule'] == 1.0\n"
        "app.loader.import_default_modules()  # what the worker does at start\n"
        "assert all(entry['task'] in app.tasks for entry in beat.values())\n"
        "print('ok')\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_SECONDS")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env={**environment, "DJANGO_SETTINGS_MODULE": "foretagslots.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok"]
