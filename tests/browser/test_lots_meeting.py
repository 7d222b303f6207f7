"""Browser test (headless Chromium): a company lots meeting from booking to the company's page.

The coordinator books a lots meeting from a multi-unit case, invites the proposed units,
records minutes with two action items; the owners see them in their work lists; the company's
tracking page shows the minutes and the actions, with no internal note.
"""

import datetime as dt
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from cases.models import CaseArea, CaseDepartment, CaseEvent
from meetings.models import ActionItem, LotsMeeting
from meetings.selectors import open_action_items_for_user
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory, coordinator, officer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INTERNAL_NOTE = "Internt: grannen har överklagat förut"
INTERNAL_DESCRIPTION = "Internt underlag: gamla ritningar i arkivet"


def _page_as(browser, live_server, user=None):
    """A fresh browser context, logged in as `user` through a real session cookie."""
    context = browser.new_context(locale="sv-SE")
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def multi_unit_case(fast_passwords):
    bygg = DepartmentFactory(name="Bygglov", slug="bygglov")
    miljo = DepartmentFactory(name="Miljö och hälsa", slug="miljo")
    raddning = DepartmentFactory(name="Räddningstjänsten", slug="raddning")
    DepartmentFactory(name="Kultur och fritid", slug="kultur")  # not concerned
    area_bygg = AreaFactory(slug="bygglov", name="Bygglov", owner=bygg)
    area_bygg.consulted.add(raddning)
    area_livs = AreaFactory(slug="livsmedel", name="Livsmedel", owner=miljo)
    helena = officer(bygg, username="helena")
    helena.first_name, helena.last_name = "Helena", "Berg"
    helena.save()
    mikael = officer(miljo, username="mikael")
    mikael.first_name, mikael.last_name = "Mikael", "Ek"
    mikael.save()
    officer(raddning, username="rasmus")
    case = CaseFactory(
        owning_department=bygg,
        owner=helena,
        subject="Ny restaurang i hamnen",
        status="in_progress",
    )
    CaseArea.objects.create(case=case, area=area_bygg, is_primary=True, position=0)
    CaseArea.objects.create(case=case, area=area_livs, position=1)
    CaseDepartment.objects.create(case=case, department=miljo, role="contributor")
    return {
        "case": case,
        "helena": helena,
        "mikael": mikael,
        "coordinator": coordinator(),
        "units": (bygg, miljo, raddning),
    }


def test_coordinator_runs_a_lots_meeting_and_the_company_sees_minutes_and_actions(
    chromium, live_server, multi_unit_case
):
    """Uses `chromium` and `fast_passwords` from tests/browser/conftest.py."""
    browser = chromium
    case = multi_unit_case["case"]
    helena, mikael = multi_unit_case["helena"], multi_unit_case["mikael"]
    bygg, miljo, raddning = multi_unit_case["units"]

    # The coordinator books the meeting from the case; the proposed units are pre-selected.
    page = _page_as(browser, live_server, multi_unit_case["coordinator"])
    page.goto(f"{live_server.url}/lots/moten/boka/{case.reference}/")
    assert page.get_by_role("heading", name="Boka lotsmöte").is_visible()
    for unit in ("Bygglov", "Miljö och hälsa", "Räddningstjänsten"):
        assert page.get_by_label(unit, exact=True).is_checked()
    assert not page.get_by_label("Kultur och fritid", exact=True).is_checked()
    assert page.get_by_label("Börjar").input_value() == "14:00"
    page.get_by_label("Plats").fill("Kommunhuset, rum Lotsen")
    page.get_by_role("button", name="Boka och skicka inbjudningar").click()
    page.wait_for_url(re.compile(r"/lots/moten/\d+/$"))
    assert "Lotsmötet är bokat" in page.content()
    meeting = LotsMeeting.objects.get(case=case)
    assert meeting.invitations.count() == 3
    assert case.events.filter(kind=CaseEvent.Kind.MEETING_BOOKED, is_public=True).exists()

    # Miljö names who attends.
    unit = page.locator(f"#unit-{meeting.invitations.get(department=miljo).pk}")
    unit.get_by_label("Mikael Ek").check()
    unit.get_by_role("button", name="Spara deltagare").click()
    page.wait_for_load_state()
    assert "Deltagarna från Miljö och hälsa är sparade." in page.content()

    # Given the meeting has taken place (moved to the past, as the clock cannot wait two weeks).
    held_at = timezone.now() - dt.timedelta(hours=3)
    LotsMeeting.objects.filter(pk=meeting.pk).update(
        starts_at=held_at, ends_at=held_at + dt.timedelta(hours=2)
    )
    page.goto(f"{live_server.url}{meeting.get_absolute_url()}")

    due_first = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    due_second = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    for title, unit_name, owner_name, due, description in (
        ("Granska ritningarna för köket", "Miljö och hälsa", "Mikael Ek", due_first, ""),
        (
            "Besked om bygglovets omfattning",
            "Bygglov",
            "Helena Berg",
            due_second,
            INTERNAL_DESCRIPTION,
        ),
    ):
        form = page.locator("form[action$='/atgarder/']")
        form.get_by_label("Åtgärd").fill(title)
        form.get_by_label("Enhet").select_option(label=unit_name)
        form.get_by_label("Ansvarig person").select_option(label=owner_name)
        form.get_by_label("Klart senast").fill(due)
        form.get_by_label("Intern beskrivning").fill(description)
        form.get_by_role("button", name="Lägg till åtgärden").click()
        page.wait_for_load_state()
        assert "Åtgärden är tillagd." in page.content()
    assert ActionItem.objects.filter(meeting=meeting).count() == 2

    form = page.locator("form[action$='/minnesanteckningar/']")
    form.get_by_role("textbox", name="Minnesanteckningar").fill(
        "Företaget presenterade restaurangen. Kök och uteservering diskuterades."
    )
    form.get_by_label("Beslut").fill("Bygglov söks före registreringen av livsmedelsanläggningen.")
    form.get_by_label("Interna anteckningar").fill(INTERNAL_NOTE)
    # Nobody is marked present beforehand: tick the units that came (not Räddningstjänsten).
    assert not form.get_by_label("Räddningstjänsten").is_checked()
    form.get_by_label("Bygglov", exact=True).check()
    form.get_by_label("Miljö och hälsa", exact=True).check()
    form.get_by_label("Publicera och skicka").check()
    form.get_by_role("button", name="Spara minnesanteckningarna").click()
    page.wait_for_load_state()
    assert "Minnesanteckningarna är publicerade och skickade." in page.content()
    meeting.refresh_from_db()
    assert meeting.status == "held"
    assert meeting.invitations.get(department=raddning).attended is False
    assert meeting.invitations.get(department=bygg).attended is True

    # The owners see their action items in their work lists.
    for owner, title in (
        (mikael, "Granska ritningarna för köket"),
        (helena, "Besked om bygglovets omfattning"),
    ):
        assert [item.title for item in open_action_items_for_user(owner)] == [title]
        work = _page_as(browser, live_server, owner)
        work.goto(f"{live_server.url}/handlaggning/")
        assert work.get_by_role("link", name=title).is_visible()
        work.context.close()

    # The company's tracking page: minutes, decisions and who does what by when.
    token = case.followers.get(is_primary_contact=True).token
    company = _page_as(browser, live_server)
    company.goto(f"{live_server.url}/arende/{token}/")
    section = company.locator("section", has=company.locator("#lots-meetings-heading"))
    text = section.inner_text()
    assert "Företaget presenterade restaurangen." in text
    assert "Bygglov söks före registreringen" in text
    assert "Granska ritningarna för köket" in text and "Miljö och hälsa" in text
    assert "Besked om bygglovets omfattning" in text
    whole_page = company.content()
    assert INTERNAL_NOTE not in whole_page
    assert INTERNAL_DESCRIPTION not in whole_page
    assert "Lotsmöte" in whole_page
