"""Browser tests: real headless Chromium (Debian's package) through Playwright's sync API,
against pytest-django's live server."""

import os

import pytest
from django.db import connections

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium(require_browser):
    """A headless Chromium; closed after the test."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=require_browser, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
        # The ORM calls the test made between browser steps ran under Playwright's event
        # loop, in a context of their own with its own database connection, which nothing
        # else closes: left open, the test database cannot be dropped at the end ("being
        # accessed by other users").
        connections.close_all()


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Reports the browser tests print at the end of the run, whatever pytest's -r/-s options:
# written through the terminal reporter, so they stand in the CI log.
BROWSER_REPORTS: list[tuple[str, list[str]]] = []


def pytest_terminal_summary(terminalreporter):
    for title, lines in BROWSER_REPORTS:
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def working_days(db):
    """The dashboard's calendar (filled by a data migration) is emptied by every transactional
    test's flush; the tests that open /lots/ put it back."""
    from insights.models import WorkingDay, fill_working_days

    if not WorkingDay.objects.exists():
        fill_working_days()
