"""An officer's whole flow in a real browser: take a case from the unit's queue, ask another
unit for a contribution, that unit answers, the owner replies and closes; the company's
tracking page shows the answer and nothing internal."""

import re

import pytest
from django.urls import reverse

from cases.models import Case, CaseOwnershipPeriod
from tests.factories import CaseFactory, DepartmentFactory, officer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "test-password-123"
INTERNAL_NOTE = "Internt: kolla med chefen innan vi svarar"
CONTRIBUTION = "Miljö: ingen anmälan krävs för två bord."
FINAL_ANSWER = "Ni behöver ett tillstånd för uteservering. Ansök senast i april."


def log_in(browser, live_server, username):
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(r"/handlaggning/$"))
    return page


def open_action(page, title):
    page.locator("summary", has_text=title).click()


def test_officer_takes_asks_gets_contribution_replies_and_closes(
    chromium, live_server, fast_passwords
):
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten")
    officer(bygg, "anna")
    officer(miljo, "mia")
    case = CaseFactory(
        owning_department=bygg,
        owner=None,
        subject="Uteservering på torget",
        description="Vi vill ställa ut två bord utanför kaféet.",
    )
    CaseOwnershipPeriod.objects.create(case=case, department=bygg)
    token = case.followers.get().token

    # Anna logs in, finds the case in her unit's queue and takes it with one click.
    anna = log_in(chromium, live_server, "anna")
    assert anna.get_by_role("heading", level=1).inner_text() == "Min arbetslista"
    anna.get_by_role("link", name="Enhetens kö", exact=True).click()
    anna.get_by_role("button", name=f"Ta {case.reference}").click()
    anna.wait_for_url(re.compile(re.escape(case.reference)))
    assert "Du är nu helhetsansvarig för ärendet." in anna.content()

    # She asks the environment unit for a contribution and writes an internal note.
    open_action(anna, "Begär underlag från en annan enhet")
    anna.get_by_label("Enhet som ska lämna underlag").select_option(label="Miljöenheten")
    anna.get_by_label("Fråga till enheten").fill("Krävs anmälan för uteserveringen?")
    anna.get_by_role("button", name="Skicka begäran").click()
    assert "Begäran om underlag är skickad." in anna.content()
    open_action(anna, "Intern anteckning")
    anna.locator("#note").get_by_label("Intern anteckning").fill(INTERNAL_NOTE)
    anna.get_by_role("button", name="Spara anteckningen").click()
    assert "Anteckningen är sparad." in anna.content()

    # Mia of the environment unit sees the request in her unit's queue and answers it.
    mia = log_in(chromium, live_server, "mia")
    mia.get_by_role("link", name="Enhetens kö", exact=True).click()
    assert "Krävs anmälan för uteserveringen?" in mia.content()
    mia.get_by_role("button", name=f"Ta begäran i {case.reference}").click()
    assert "Du har tagit begäran om underlag." in mia.content()
    mia.get_by_label("Enhetens underlag eller yttrande").fill(CONTRIBUTION)
    mia.get_by_role("button", name="Lämna underlaget").click()
    assert "Underlaget är lämnat till den helhetsansvariga." in mia.content()

    # Anna sees the contribution on her case, replies to the company and closes the case.
    anna.goto(live_server.url + reverse("staff:case_detail", args=[case.reference]))
    assert CONTRIBUTION in anna.content()
    anna.locator("#reply").get_by_label("Svar till företaget").fill("Tack, vi tittar på det.")
    anna.get_by_role("button", name="Skicka svaret").click()
    assert "Svaret är skickat till företaget." in anna.content()
    open_action(anna, "Avsluta med slutligt svar")
    anna.get_by_label("Slutligt svar till företaget").fill(FINAL_ANSWER)
    anna.get_by_role("button", name="Skicka slutligt svar och avsluta").click()
    assert "Ärendet är avslutat" in anna.content()

    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.owner.username == "anna"

    # The company's tracking page shows the answer, and nothing internal.
    company = chromium.new_context(locale="sv-SE").new_page()
    company.goto(live_server.url + reverse("cases_public:tracking", args=[token]))
    text = company.locator("main").inner_text()
    assert FINAL_ANSWER in text
    assert "Tack, vi tittar på det." in text
    assert INTERNAL_NOTE not in text
    assert CONTRIBUTION not in text
    assert "Krävs anmälan" not in text
    assert "Avslutad" in text
