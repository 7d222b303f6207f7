"""The company's whole journey in a real browser (headless Chromium): ask, with a mistake
first; the receipt; the private page; write to the officer; invite a colleague, whose own
link works; switch to English and back; after the final answer, rate the service.

Django's test client sends no Origin header, so it cannot see what a browser's Referrer-Policy
does to a form post; these steps go through Chromium so that every POST is the real one."""

import re

import pytest
from django.urls import reverse

from cases.models import Case, CaseFollower, Message
from cases.services.work import case_claim, case_close, case_reply
from insights.models import Feedback
from tests.factories import officer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPED_NAME = "Kafé Roslagsbris"
QUESTION = "Vi vill öppna ett kafé med uteservering vid hamnen och servera mat."
OFFICER_ANSWER = "Tack för frågan, vi återkommer med vad ni behöver söka."
FINAL_ANSWER = "Ni behöver registrera livsmedelsanläggningen. Skicka anmälan senast i april."


@pytest.fixture(autouse=True)
def _quick_form(settings):
    # A person needs a few seconds to fill in the form; the browser does not.
    settings.FORM_MIN_FILL_SECONDS = 0


def _watch(page, failures):
    """Every response of 400 or more and every console error is a failure of the journey."""
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and failures.append(f"{response.status} {response.request.method} {response.url}")
        ),
    )
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and failures.append(f"console: {message.text} {message.location.get('url', '')}")
        ),
    )


def test_a_company_asks_writes_invites_switches_language_and_rates(
    chromium, live_server, norrtalje, settings
):
    settings.INSIKT_HOLD_BACK_AREAS = []
    failures = []
    context = chromium.new_context(locale="sv-SE", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    _watch(page, failures)

    # Ask: the e-mail address is mistyped first; the error summary takes the focus.
    page.goto(live_server.url + reverse("cases_public:ask"))
    page.get_by_label("Organisationsnummer").fill("556036-0793")
    page.get_by_label("Företagets namn").fill(TYPED_NAME)
    page.get_by_label("Ditt namn").fill("Maria Lind")
    page.get_by_label("E-postadress").fill("maria@")
    page.get_by_label("Rubrik").fill("Kafé med uteservering")
    page.get_by_label("Beskriv din fråga").fill(QUESTION)
    page.locator("#id_consent").check()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Skicka frågan").click()
    assert posted.value.status == 200
    summary = page.locator("#error-summary")
    assert "Skriv en giltig e-postadress" in summary.inner_text()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert not Case.objects.exists()

    page.get_by_label("E-postadress").fill("maria@roslagsbris.se")
    page.locator("#id_consent").check()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Skicka frågan").click()
    assert posted.value.status < 400
    page.wait_for_url(re.compile(r"/arende/"))

    # The receipt: the private link is to be saved, the case number, the name as typed.
    case = Case.objects.get()
    main = page.locator("main").inner_text()
    assert "Spara länken till den här sidan" in main
    assert case.reference in main
    assert TYPED_NAME in main
    assert page.locator("html").get_attribute("lang") == "sv"
    private_url = page.url

    # Write to the officer.
    page.get_by_role("textbox", name="Ditt meddelande").fill("Vi kan också komma på ett möte.")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Skicka meddelandet").click()
    assert posted.value.status < 400
    assert "Ditt meddelande har skickats till handläggaren" in page.content()
    assert "Vi kan också komma på ett möte." in page.locator("main").inner_text()
    assert Message.objects.filter(kind=Message.Kind.FROM_COMPANY).count() == 1

    # Invite a colleague; the colleague's own link opens the same case.
    page.locator("#id_name").fill("Per Lind")
    page.locator("#id_email").fill("per@roslagsbris.se")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Bjud in").click()
    assert posted.value.status < 400
    assert "Per Lind har fått en egen länk till ärendet." in page.content()
    colleague = CaseFollower.objects.get(email="per@roslagsbris.se")
    other = context.new_page()
    _watch(other, failures)
    other.goto(live_server.url + reverse("cases_public:tracking", args=[colleague.token]))
    assert case.reference in other.locator("h1").inner_text()
    other.close()

    # Switch to English on the private page, and back to Swedish.
    page.locator("#language-select").select_option("en")
    page.get_by_role("button", name="Byt språk").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.url == private_url
    assert page.get_by_role("heading", name="Write to the case officer").is_visible()
    page.locator("#language-select").select_option("sv")
    page.get_by_role("button", name="Change language").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.url == private_url

    # The officer answers and closes; the final answer stands first on the private page.
    anna = officer(case.owning_department, "anna")
    case_claim(case_id=case.pk, actor=anna)
    case_reply(case_id=case.pk, actor=anna, body=OFFICER_ANSWER)
    case_close(case_id=case.pk, actor=anna, body=FINAL_ANSWER)
    page.reload()
    main_text = page.locator("main").inner_text()
    assert main_text.index(FINAL_ANSWER) < main_text.index("Händelser och meddelanden")

    # The survey was sent to the company; it is answered and thanked for.
    feedback = Feedback.objects.get(case=case)
    survey = context.new_page()
    _watch(survey, failures)
    survey.goto(live_server.url + reverse("insights_public:feedback", args=[feedback.token]))
    for fieldset in survey.locator("form.feedback-form fieldset").all():
        fieldset.locator("input[type=radio][value='5']").check()
    with survey.expect_response(lambda r: r.request.method == "POST") as posted:
        survey.get_by_role("button", name="Skicka svaren").click()
    assert posted.value.status < 400
    assert "Tack för ditt svar!" in survey.locator("main").inner_text()
    feedback.refresh_from_db()
    assert feedback.answered_at is not None

    assert failures == []
