"""What a web worker imports: the libraries only some requests need load with the first such
request, not with every page (issue 14: a worker's memory). Each check runs in a fresh
process, as a gunicorn worker starts."""

import os
import subprocess
import sys

import pytest
from django.template import engines

PAGE = (
    "import sys, django; django.setup()\n"
    "from django import forms\n"
    "from django.test import Client\n"
    "response = Client().get('/')\n"
    "assert response.status_code == 200, response.status_code\n"
    "class Question(forms.Form):\n"
    "    subject = forms.CharField()\n"
    "str(Question())\n"  # a widget, through the form renderer's own engine
)


def _loaded_after(code: str, *modules: str) -> list[str]:
    script = code + f"print(*[name for name in {modules!r} if name in sys.modules])\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_page_does_not_load_the_api_framework_until_an_api_url_is_asked_for():
    """DRF, drf-spectacular and what they pull in (requests, pygments; ~12 MiB) load in a
    process that serves the API, not in one that renders the public form and staff pages."""
    api = (
        "rest_framework.views",
        "rest_framework.serializers",
        "drf_spectacular.views",
        "requests",
    )
    assert _loaded_after(PAGE, *api) == []

    reversed_ = (
        PAGE
        + "from django.urls import reverse\nassert reverse('api:case-list') == '/api/v1/cases/'\n"
    )
    assert "rest_framework.views" in _loaded_after(reversed_, *api)


def test_a_page_does_not_load_the_calendar_library():
    """icalendar (~80 modules) is for meeting invitations only."""
    code = PAGE + "import foretagslots.urls, meetings.views, meetings.services\n"
    assert _loaded_after(code, "icalendar") == []


def test_drf_tags_still_load_where_a_template_asks_for_them():
    template = engines["django"].from_string("{% load rest_framework %}{{ 'a'|add_class:'b' }}")
    assert template.render({}) == "a"


def test_the_question_form_loads_neither_python_stdnum_nor_filetype():
    """The org number's Luhn check is the portal's own (stdnum's utilities import pydoc);
    the upload type sniffer loads with the first upload."""
    code = PAGE + "import cases.forms, cases.views.public, records.services\n"
    assert _loaded_after(code, "stdnum", "pydoc", "filetype") == []


def test_org_numbers_are_checked_as_python_stdnum_checks_them():
    import random

    from django.core.exceptions import ValidationError
    from stdnum.se import orgnr, personnummer

    from cases.orgnr import is_personal_identity_number, luhn_ok, normalise_org_number

    rng = random.Random(14)
    numbers = [f"{rng.randrange(10**10):010d}" for _ in range(3000)] + ["5560360793", "0000000000"]
    for digits in numbers:
        valid = orgnr.is_valid(digits)
        assert luhn_ok(digits) == valid, digits
        try:
            normalised = normalise_org_number(f"{digits[:6]}-{digits[6:]}")
        except ValidationError:
            assert not valid, digits
        else:
            assert valid and normalised == orgnr.format(digits), digits
        if personnummer.is_valid(digits):  # the mask is wider than a valid personnummer
            assert is_personal_identity_number(f"{digits[:6]}-{digits[6:]}"), digits
    assert not luhn_ok("٥٥٦٠٣٦٠٧٩٣")  # Arabic-Indic digits: \d accepts them, stdnum does not
    assert is_personal_identity_number("640823 3234") and is_personal_identity_number("640823–3234")


def test_a_web_worker_freezes_what_start_up_built_so_full_collections_skip_it():
    """The WSGI module freezes the start-up objects: a full garbage collection in a worker then
    walks only what requests made, not the ~170 000 objects of modules and settings."""
    script = "import gc, foretagslots.wsgi\nprint(gc.get_freeze_count())\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 50_000


def test_the_responsibility_map_search_does_not_load_the_snowballstemmer_package():
    """Without PyStemmer the package's __init__ imports all 30 languages' generated stemmers
    (~2.8 MiB); the search uses PyStemmer's, as the package itself does when it is installed."""
    code = (
        PAGE + "import departments.search as s\nassert s.stem('uteserveringar') == 'uteservering'\n"
    )
    assert _loaded_after(code, "snowballstemmer") == []


def test_the_search_stems_as_the_snowballstemmer_package_does():
    import snowballstemmer

    from departments import search

    swedish, english = snowballstemmer.stemmer("swedish"), snowballstemmer.stemmer("english")
    words = ["uteserveringarna", "bygglovsansökan", "tillstånden", "licences", "alcohol", "permits"]
    assert [search.stem(w) for w in words] == swedish.stemWords(words)
    assert [search.english_stem(w) for w in words] == english.stemWords(words)


def test_what_the_first_requests_build_is_frozen_too_once_and_only_after_they_are_served():
    """The routing model, compiled templates and cached choices are built by the first
    requests and live as long as the worker: after REFREEZE_AFTER requests they are frozen
    too, so that a full collection stops walking them (the submit's p95)."""
    script = (
        "import gc, foretagslots.wsgi as wsgi\n"
        "from django.core.signals import request_finished\n"
        "start = gc.get_freeze_count()\n"
        "built = [[n] for n in range(5000)]\n"  # what the first requests keep
        "for _ in range(wsgi.REFREEZE_AFTER - 1):\n"
        "    request_finished.send(sender=None)\n"
        "before = gc.get_freeze_count()\n"
        "request_finished.send(sender=None)\n"
        "after = gc.get_freeze_count()\n"
        "more = [[n] for n in range(5000)]\n"
        "request_finished.send(sender=None)\n"
        "print(start, before, after, gc.get_freeze_count())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    start, before, after, later = (int(n) for n in out.stdout.split())
    assert before == start
    assert after >= start + 5000
    assert later == after  # once: later requests' objects are collected as usual


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{port}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_submitting_a_question_and_listing_cases_do_not_load_celery(require_postgres, norrtalje):
    """Celery and kombu (~9 MiB of a worker) are for the worker: a submission's receipt is a
    row that the worker's outbox relay sends, so the request publishes nothing. A fresh
    process submits the question form and shows an officer the case list, as a gunicorn
    worker does; then it is asked what it loaded."""
    from django.conf import settings

    from departments.models import Department
    from tests.factories import officer

    anna = officer(Department.objects.first(), username="anna")
    code = (
        "import sys, django; django.setup()\n"
        "from django.contrib.auth.models import User\n"
        "from django.test import Client\n"
        "from django.test.utils import override_settings, setup_test_environment\n"
        "from django.urls import reverse\n"
        "from outbox.models import OutgoingEmail\n"
        "from tests.factories import submit_question\n"
        "setup_test_environment()\n"
        "with override_settings(FORM_MIN_FILL_SECONDS=0):\n"
        "    response = submit_question(Client())\n"
        "assert response.status_code == 302, response.status_code\n"
        "assert OutgoingEmail.objects.get(kind='receipt').status == 'pending'\n"
        "staff = Client()\n"
        f"staff.force_login(User.objects.get(pk={anna.pk}))\n"
        "response = staff.get(reverse('staff:case_list'))\n"
        "assert response.status_code == 200, response.status_code\n"
        "print(*[name for name in ('celery', 'kombu', 'billiard') if name in sys.modules])\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OUTBOX_SEND_ON_COMMIT": "0",
        "DJANGO_SETTINGS_MODULE": "foretagslots.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=settings.BASE_DIR
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []


def test_a_web_worker_that_publishes_uses_the_projects_celery_app():
    """Nothing in a web worker imports `foretagslots.celery` until something is published
    (an attachment's scan); the task must then go to the project's broker, not to Celery's
    default app and its amqp://localhost."""
    code = (
        "import sys, django; django.setup()\n"
        "from unittest import mock\n"
        "from cases.tasks import attachment_scan_task\n"
        "from outbox.services import publish_or_leave\n"
        "assert 'foretagslots.celery' not in sys.modules\n"
        "with mock.patch('kombu.Connection.ensure_connection', side_effect=OSError('down')):\n"
        "    assert publish_or_leave(attachment_scan_task, (1,)) is False\n"
        "from django.conf import settings\n"
        "app = attachment_scan_task.app\n"
        "print(app.main, app.conf.broker_url == settings.CELERY_BROKER_URL)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["foretagslots", "True"]
