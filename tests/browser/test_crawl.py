"""Every role in a real browser: follow every link from the navigation and the case pages,
submit every POST form once. Fails on a CSRF refusal, any 5xx, a 404 link, any console error
and any page in another language than the one chosen. The report (pages visited and forms
submitted per role) is printed at the end of the test run."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from cases.services.work import case_claim, case_close, case_reply
from insights.models import Feedback
from tests.browser.conftest import BROWSER_REPORTS
from tests.browser.crawl import Crawler, RoleReport
from tests.factories import CaseFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "crawl-password-2026"


@pytest.fixture(autouse=True)
def _quick_form(monkeypatch, settings):
    settings.FORM_MIN_FILL_SECONDS = 0
    settings.RATELIMIT_ENABLED = False
    settings.AXES_ENABLED = False


@pytest.fixture
def demo(norrtalje, settings, working_days):
    """The demo's users (every role) and a few cases, one of them taken and answered."""
    settings.INSIKT_HOLD_BACK_AREAS = []
    call_command("seed_demo", password=PASSWORD, officers=1, cases=4, verbosity=0)
    from django.contrib.auth import get_user_model

    officer = get_user_model().objects.get(username="bygglovsenheten.1")
    unit = officer.memberships.first().department
    # Two cases of the crawl's own, next to the demo's history: one taken and answered, one
    # closed, whose company has the satisfaction survey to answer.
    case, closed = (
        CaseFactory(owning_department=unit, subject=subject)
        for subject in ("Bygglov för altan vid kaféet", "Skylt på fasaden")
    )
    case_claim(case_id=case.pk, actor=officer)
    case_reply(case_id=case.pk, actor=officer, body="Vi har tittat på er fråga.")
    case_claim(case_id=closed.pk, actor=officer)
    case_close(case_id=closed.pk, actor=officer, body="Slutligt svar: inget tillstånd behövs.")
    case.closed_case = closed
    return case


ROLES = [
    # role, username (None: the company's private link), language
    ("company", None, "sv"),
    ("company", None, "en"),
    ("officer", "bygglovsenheten.1", "sv"),
    ("unit lead", "bygglovsenheten.chef", "sv"),
    ("coordinator", "lotssamordnare", "sv"),
    ("admin", "admin", "sv"),
]


def _log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/konto/logga-in/" not in page.url, f"{username} could not log in"


def test_every_role_can_use_every_page_and_form(chromium, live_server, demo):
    reports = []
    for role, username, language in ROLES:
        context = chromium.new_context(locale="sv-SE", viewport={"width": 1366, "height": 900})
        if language != "sv":
            host = live_server.url.split("//", 1)[1].split(":")[0]
            context.add_cookies(
                [{"name": "django_language", "value": language, "domain": host, "path": "/"}]
            )
        page = context.new_page()
        page.set_default_timeout(15_000)
        report = RoleReport(role=role, language=language)
        if username is None:
            token = demo.followers.filter(is_primary_contact=True).get().token
            survey = Feedback.objects.get(case=demo.closed_case).token
            starts = [
                reverse("cases_public:tracking", args=[token]),
                reverse("insights_public:feedback", args=[survey]),
                reverse("home"),
            ]
        else:
            _log_in(page, live_server, username)
            starts = [page.url, reverse("staff:case_detail", args=[demo.reference])]
            if role == "admin":
                starts.append(reverse("admin:index"))
        Crawler(page, live_server.url, report).run(starts)
        context.close()
        reports.append(report)

    lines = [report.line() for report in reports]
    for report in reports:
        lines += [f"  FAIL {role_failure}" for role_failure in report.failures]
    import os

    if os.environ.get("CRAWL_VERBOSE"):
        for report in reports:
            lines += [f"  {report.role} page {p}" for p in report.pages]
            lines += [f"  {report.role} form {f}" for f in report.forms]
            lines += [f"  {report.role} skipped {f}" for f in report.skipped]
    lines.append(
        f"total: {sum(len(r.pages) for r in reports)} pages visited, "
        f"{sum(len(r.forms) for r in reports)} forms submitted, "
        f"{sum(len(r.failures) for r in reports)} failures"
    )
    BROWSER_REPORTS.append(("browser crawl: pages and forms per role", lines))
    for report in reports:
        assert report.pages, f"{report.role} visited no page"
        assert report.forms, f"{report.role} submitted no form"
    failures = [f"{r.role} ({r.language}): {f}" for r in reports for f in r.failures]
    assert not failures, "\n".join(failures)
