"""What the browser walk of 29 November found on the company's pages, in Chromium at a phone's
width and a laptop's: the phone field, the tracking page's message field and timeline, and the
satisfaction survey answered in part."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from insights.services import feedback_invite
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [390, 1366]


@pytest.fixture(autouse=True)
def _quick_form(settings):
    settings.FORM_MIN_FILL_SECONDS = 0


def _page(chromium, width):
    page = chromium.new_context(locale="sv-SE", viewport={"width": width, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    return page


def _submit(page, button):
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=button).click()
    return posted.value


@pytest.mark.parametrize("width", WIDTHS)
def test_letters_in_the_phone_field_are_refused_there_and_stay(
    chromium, live_server, norrtalje, width
):
    page = _page(chromium, width)
    page.goto(live_server.url + reverse("cases_public:ask"))
    page.get_by_label("Företagets namn").fill("Kafé Roslagsbris")
    page.get_by_label("Ditt namn").fill("Maria Lind")
    page.get_by_label("E-postadress").fill("maria@roslagsbris.se")
    page.get_by_label("Telefon").fill("abc")
    page.get_by_label("Rubrik").fill("Uteservering")
    page.get_by_label("Beskriv din fråga").fill("Två bord utanför kaféet i sommar.")
    page.locator("#id_consent").check()

    assert _submit(page, "Skicka frågan").status == 200

    phone = page.get_by_role("textbox", name="Telefon")
    assert phone.input_value() == "abc"
    assert phone.get_attribute("type") == "tel"  # a phone's keypad on a phone
    message = "Skriv telefonnumret med siffror, till exempel 070-123 45 67"
    assert message in page.locator("#error-summary").inner_text()
    field = page.locator("#div_id_phone")
    assert field.get_by_text(message).is_visible()
    assert not Case.objects.exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_message_field_is_named_apart_from_its_heading_and_a_message_shows_once(
    chromium, live_server, width
):
    case = CaseFactory()
    token = case.followers.get().token
    page = _page(chromium, width)
    page.goto(live_server.url + reverse("cases_public:tracking", args=[token]))

    assert page.get_by_role("heading", name="Skriv till handläggaren").is_visible()
    page.get_by_role("textbox", name="Ditt meddelande").fill("Ritningen kommer i morgon.")
    assert _submit(page, "Skicka meddelandet").status < 400

    timeline = page.locator("ol.timeline")
    assert timeline.get_by_text("Ritningen kommer i morgon.").count() == 1
    assert "skrev till handläggaren" not in timeline.inner_text()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_survey_answered_in_part_says_so_in_one_line_and_keeps_the_answer(
    chromium, live_server, settings, width
):
    settings.INSIKT_HOLD_BACK_AREAS = []
    unit = DepartmentFactory(slug="livsmedel-enhet")
    area = AreaFactory(slug="livsmedel", owner=unit, insikt_area="livsmedelskontroll")
    case = CaseFactory(owning_department=unit, primary_area=area)
    with transaction.atomic():
        case.status, case.closed_at = Case.Status.CLOSED, timezone.now()
        case.save()
        feedback = feedback_invite(case_id=case.pk)
    page = _page(chromium, width)
    page.goto(live_server.url + f"/omdome/{feedback.token}/")

    page.locator("#id_nki_overall_4").check()
    assert _submit(page, "Skicka svaren").status == 200

    summary = page.locator("#error-summary")
    assert summary.locator("li").count() == 1
    assert "8 frågor har inget svar" in summary.inner_text()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#id_nki_overall_4").is_checked()
    summary.get_by_role("link").click()
    assert page.evaluate("location.hash") == "#id_nki_expectations_0"
