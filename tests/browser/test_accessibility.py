"""axe-core (vendored in static/vendor/axe-core) on the public pages, the company's private
page and survey, and the coordinator's dashboard, at a desktop and a phone size: no serious
or critical violations. The counts per page are printed at the end of the test run.

Set SCREENSHOT_DIR to keep a screenshot of every page at both sizes."""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

from cases.services.work import case_claim, case_close, case_reply
from departments.models import Department
from insights.models import Feedback
from tests.browser.conftest import BROWSER_REPORTS
from tests.factories import CaseFactory, coordinator, officer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
BLOCKING = {"serious", "critical"}
# Moderate, but a screen reader's list of landmarks is useless with two of the same name.
ALSO_BLOCKING = {"landmark-unique"}
AXE = "/static/vendor/axe-core/axe.min.js"
PASSWORD = "test-password-123"


@pytest.fixture(autouse=True)
def _quick_form(monkeypatch, settings):
    settings.FORM_MIN_FILL_SECONDS = 0
    settings.INSIKT_HOLD_BACK_AREAS = []


def _run_axe(page, base_url):
    page.add_script_tag(url=base_url + AXE)
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, nodes: v.nodes.length,
                targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
            }));
        }"""
    )


def _cases(client):
    """An open case (with an officer's answer) and a closed one with a survey."""
    from django.core.management import call_command

    call_command("seed_demo", password=PASSWORD, officers=1, cases=0, verbosity=0)
    unit = Department.objects.get(slug="bygglovsenheten")
    open_case, closed_case = (
        CaseFactory(owning_department=unit, subject=subject)
        for subject in ("Bygglov för altan vid kaféet", "Skylt på fasaden")
    )
    anna = officer(unit, "anna")
    for case in (open_case, closed_case):
        case_claim(case_id=case.pk, actor=anna)
        case_reply(case_id=case.pk, actor=anna, body="Tack för frågan, vi tittar på den.")
    case_close(case_id=closed_case.pk, actor=anna, body="Slutligt svar: ni behöver inget lov.")
    return open_case, closed_case


def test_public_and_company_pages_have_no_serious_accessibility_violations(
    chromium, live_server, norrtalje, client, working_days
):
    open_case, closed_case = _cases(client)
    coordinator("samordnaren")
    pages = [
        ("start", reverse("home"), None),
        ("ask", reverse("cases_public:ask"), None),
        ("ask, failed submit", reverse("cases_public:ask"), "submit"),
        ("refused form (CSRF)", reverse("cases_public:ask"), "csrf"),
        ("map", reverse("departments:map"), None),
        ("map, search", reverse("departments:map") + "?q=alkohol", None),
        ("accessibility", reverse("accessibility"), None),
        ("privacy", reverse("privacy"), None),
        ("login", reverse("login"), None),
        (
            "private page (open)",
            reverse("cases_public:tracking", args=[open_case.followers.get().token]),
            None,
        ),
        (
            "private page (closed)",
            reverse("cases_public:tracking", args=[closed_case.followers.get().token]),
            None,
        ),
        (
            "survey",
            reverse("insights_public:feedback", args=[Feedback.objects.get().token]),
            None,
        ),
        ("survey, failed submit", None, "survey"),
        ("lots dashboard", reverse("insights:dashboard"), "coordinator"),
    ]
    shots = os.environ.get("SCREENSHOT_DIR")
    lines, blocking = [], []
    for size, (width, height) in VIEWPORTS.items():
        context = chromium.new_context(locale="sv-SE", viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        survey_url = None
        for name, url, how in pages:
            if how == "coordinator":
                page.goto(live_server.url + reverse("login"))
                page.locator("#id_username").fill("samordnaren")
                page.locator("#id_password").fill(PASSWORD)
                page.locator("main form button[type=submit]").click()
                page.wait_for_load_state()
            if how == "survey":
                page.goto(survey_url)
                page.get_by_role("button", name="Skicka svaren").click()
                page.wait_for_load_state()
            else:
                page.goto(live_server.url + url)
            if name == "survey":
                survey_url = page.url
            if how == "csrf":
                # The CSRF cookie is gone (expired, blocked): the portal's own page answers.
                context.clear_cookies()
                with page.expect_response(lambda r: r.request.method == "POST") as posted:
                    page.get_by_role("button", name="Skicka frågan").click()
                page.wait_for_load_state()
                assert posted.value.status == 403
                assert page.get_by_role("heading", level=1).inner_text() == (
                    "Formuläret kunde inte skickas"
                )
                assert page.get_by_text("Ingenting har sparats.").is_visible()
                back = page.get_by_role("link", name="Tillbaka till sidan")
                assert back.get_attribute("href") == live_server.url + url
            if how == "submit":
                page.get_by_role("button", name="Skicka frågan").click()
                page.wait_for_load_state()
                assert page.evaluate("document.activeElement.id") == "error-summary", name
            violations = _run_axe(page, live_server.url)
            counts = {}
            for violation in violations:
                counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
                if violation["impact"] in BLOCKING or violation["id"] in ALSO_BLOCKING:
                    blocking.append(f"{size} {name}: {violation}")
            summary = ", ".join(f"{impact} {n}" for impact, n in sorted(counts.items()))
            if violations:
                summary += " (" + ", ".join(v["id"] for v in violations) + ")"
            lines.append(f"{size:<8} {name:<24} axe violations: {summary or 'none'}")
            if shots:
                file = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{shots}/{size}-{file}.png", full_page=True)
        context.close()
    BROWSER_REPORTS.append(("axe-core: violations per page (serious/critical fail)", lines))
    assert not blocking, "\n".join(blocking)
