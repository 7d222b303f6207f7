"""Shared fixtures. Tests that need PostgreSQL, Redis or a browser skip on a developer's
machine without them; in CI (CI=true) every skip is a failure."""

import os
import shutil

import pytest
from django.core.management import call_command

from foretagslots.celery import app as celery_app

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, which must run every test: {report.longrepr}"


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Tasks run in-process unless a test starts a real worker, and a change's e-mails are
    sent after its commit (no relay runs in tests)."""
    from django.conf import settings

    celery_app.conf.task_always_eager = True
    settings.OUTBOX_SEND_ON_COMMIT = True
    yield
    celery_app.conf.task_always_eager = False
    settings.OUTBOX_SEND_ON_COMMIT = False


@pytest.fixture(autouse=True)
def _site_language():
    """Every test starts in the site's language: a request in English through the test client
    leaves English active in the thread (LocaleMiddleware does not switch back), and a later
    test's service messages came out in English."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _isolated_cache():
    """An empty cache for every test, and no process-local copy of what it held."""
    from django.core.cache import cache

    from api.webhooks import forget_subscriptions
    from routing.areas import forget_areas

    cache.clear()
    forget_subscriptions()
    forget_areas()
    yield
    cache.clear()
    forget_subscriptions()
    forget_areas()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Test users log in thousands of times; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _attachments_in_tmp(settings, tmp_path):
    """Attachments stored by a test go to its own temporary directory, never var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments")},
        },
    }


@pytest.fixture(autouse=True)
def _router_files_in_tmp(settings, tmp_path):
    """A trained model loaded by a test is written to its own temporary directory."""
    settings.ROUTER_CACHE_DIR = tmp_path / "routers"


@pytest.fixture
def no_form_timing(settings):
    """The question form's bot check (a person takes seconds to fill it in) off."""
    settings.FORM_MIN_FILL_SECONDS = 0


@pytest.fixture
def norrtalje(db):
    """Norrtälje's units and responsibility areas, as in production."""
    call_command("seed_norrtalje", verbosity=0)


def _database_vendor():
    from django.db import connection

    return connection.vendor


@pytest.fixture
def require_postgres():
    if _database_vendor() != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")


@pytest.fixture
def require_redis():
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis"):
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://...")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis not reachable: {error}")
    return url


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def require_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium package")
    return CHROMIUM
