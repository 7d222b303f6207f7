"""Issue 13 in a real browser at 1366 × 900: the officer's consolidated answer, the unit
lead's overview and the coordinator's dashboard without sideways scrolling."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseOwnershipPeriod
from cases.services import work
from tests.factories import CaseFactory, DepartmentFactory, coordinator, lead, officer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "test-password-123"


def log_in(browser, live_server, username):
    context = browser.new_context(locale="sv-SE", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(r"/handlaggning/$"))
    return page


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 1366


def nav_is_one_line(page) -> bool:
    tops = page.evaluate(
        "[...document.querySelectorAll('#main-nav .nav-link, #main-nav button')]"
        ".map(e => Math.round(e.getBoundingClientRect().top))"
    )
    return max(tops) - min(tops) < 20


def make_case(department, owner=None, **kwargs):
    case = CaseFactory(owning_department=department, owner=owner, **kwargs)
    CaseOwnershipPeriod.objects.create(case=case, department=department)
    return case


def test_officer_quotes_another_units_contribution_into_the_final_answer(
    chromium, live_server, fast_passwords
):
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten")
    anna = officer(bygg, "anna")
    mia = officer(miljo, "mia")
    case = make_case(bygg, owner=anna, subject="Uteservering med kök")
    asked = work.case_request_contribution(
        case_id=case.pk,
        actor=anna,
        department=miljo,
        question="Behövs anmälan för köket?",
        due_on=timezone.localdate() + dt.timedelta(days=3),
    )
    work.case_contribute(part_id=asked.part.pk, actor=mia, text="Köket ska anmälas till oss.")

    page = log_in(chromium, live_server, "anna")
    assert nav_is_one_line(page)
    page.goto(live_server.url + reverse("staff:case_detail", args=[case.reference]))
    page.locator("summary", has_text="Avsluta med slutligt svar").click()
    aside = page.locator("#close aside")
    assert "Miljöenheten" in aside.inner_text()
    page.get_by_label("Slutligt svar till företaget").fill("Bygglov behövs inte.")
    aside.get_by_role("button", name="Infoga underlaget från Miljöenheten i svaret").click()
    answer = page.get_by_label("Slutligt svar till företaget").input_value()
    assert answer.startswith("Bygglov behövs inte.") and "Köket ska anmälas till oss." in answer
    assert no_sideways_scroll(page)
    page.get_by_role("button", name="Skicka slutligt svar och avsluta").click()
    assert "Ärendet är avslutat" in page.content()
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert "Köket ska anmälas till oss." in case.messages.get(is_final_answer=True).body


def test_lead_lands_on_the_unit_overview_and_assigns_from_it(chromium, live_server, fast_passwords):
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    lead(bygg, "chefen")
    anna = officer(bygg, "anna")
    officer(bygg, "bo", available=False)
    late = make_case(bygg, owner=anna, subject="Försenad fråga")
    late.first_answer_due = timezone.localdate() - dt.timedelta(days=4)
    late.save()
    unowned = make_case(bygg, subject="Ny fråga utan ansvarig")

    page = log_in(chromium, live_server, "chefen")
    assert page.get_by_role("heading", level=1).inner_text() == "Enhetens översikt"
    assert nav_is_one_line(page) and no_sideways_scroll(page)
    assert "Försenad fråga" in page.content() and "Borta" in page.content()
    page.get_by_label(f"Helhetsansvarig för {unowned.reference}").select_option(
        label=anna.get_full_name()
    )
    page.locator(
        "form", has=page.get_by_label(f"Helhetsansvarig för {unowned.reference}")
    ).get_by_role("button", name="Fördela").click()
    page.wait_for_url(re.compile(r"/handlaggning/$"))
    assert "Ny helhetsansvarig är utsedd." in page.content()
    unowned.refresh_from_db()
    assert unowned.owner == anna


def test_coordinator_dashboard_has_no_sideways_scroll_and_folds_columns(
    chromium, live_server, fast_passwords
):
    from insights.models import fill_working_days

    fill_working_days(2025, 2027)  # a transactional test starts with an empty calendar
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    anna = officer(bygg, "anna")
    coordinator("samordnaren")
    for number in range(5):
        make_case(bygg, owner=anna if number % 2 else None, subject=f"Fråga {number}")

    page = log_in(chromium, live_server, "samordnaren")
    page.goto(live_server.url + "/lots/?period=month")
    assert nav_is_one_line(page) and no_sideways_scroll(page)
    units = page.locator("#tabell-enheter")
    secondary = units.locator("th.col-secondary").first
    assert not secondary.is_visible()
    units.get_by_role("button", name="Visa alla kolumner").click()
    assert secondary.is_visible()
    assert no_sideways_scroll(page)


def test_in_english_the_staff_header_wraps_instead_of_running_wider_than_the_screen(
    chromium, live_server, fast_passwords
):
    """The English labels are longer than the Swedish ones: the coordinator's header takes a
    second line at 1366 px rather than pushing every staff page sideways."""
    from insights.models import fill_working_days

    fill_working_days(2025, 2027)
    coordinator("samordnaren")
    context = chromium.new_context(locale="en-GB", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("samordnaren")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(re.compile(r"/handlaggning/$"))
    assert page.locator("html").get_attribute("lang") == "en"
    for path in (reverse("staff:home"), "/lots/?period=month", reverse("staff:case_list")):
        page.goto(live_server.url + path)
        assert no_sideways_scroll(page), path
    assert page.get_by_role("button", name="Log out").is_visible()


def test_on_a_phone_the_unit_overview_and_the_queue_scroll_their_tables_not_the_page(
    chromium, live_server, fast_passwords
):
    """At 390 px the lead's overview (inline assign forms) and the unit queue (a column header
    that is only there for screen readers) used to push the whole page sideways."""
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten")
    lead(bygg, "chefen")
    anna = officer(bygg, "anna")
    officer(miljo, "mia")
    late = make_case(bygg, owner=anna, subject="Försenad fråga om uteservering")
    late.first_answer_due = timezone.localdate() - dt.timedelta(days=4)
    late.save()
    make_case(bygg, subject="Ny fråga utan ansvarig")
    work.case_request_contribution(
        case_id=late.pk,
        actor=anna,
        department=miljo,
        question="Behövs anmälan för köket?",
        due_on=timezone.localdate() + dt.timedelta(days=3),
    )

    for username, path in (("chefen", "staff:home"), ("mia", "staff:queue")):
        context = chromium.new_context(locale="sv-SE", viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + reverse("login"))
        page.get_by_label("Användarnamn").fill(username)
        page.get_by_label("Lösenord").fill(PASSWORD)
        page.get_by_role("button", name="Logga in").click()
        page.wait_for_url(re.compile(r"/handlaggning/$"))
        page.goto(live_server.url + reverse(path))
        assert "Försenad fråga om uteservering" in page.content(), path
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        captions = page.evaluate(
            "[...document.querySelectorAll('caption')].map(e => e.getBoundingClientRect().right)"
        )
        assert captions and max(captions) <= 390, path  # not cut off at the screen's edge
        if path == "staff:queue":  # the question reads in whole words, not "fråga n?"
            cell = page.locator("td.pre-line", has_text="Behövs anmälan för köket?")
            assert cell.bounding_box()["width"] >= 150
        context.close()


def test_the_lead_overview_tables_fit_their_column_on_a_laptop(
    chromium, live_server, fast_passwords
):
    """At 1366 px the 'late and soon late' table (due date, a long 'overdue by' badge, the
    inline assign form) ran past its column and under the officers' list beside it; now the
    badge goes under the date when space is short."""
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    lead(bygg, "chefen")
    anna = officer(bygg, "anna")
    for subject in ("Registrera livsmedelsverksamhet", "Oljeavskiljare vid biltvätt"):
        late = make_case(bygg, owner=anna, subject=subject)
        late.first_answer_due = timezone.localdate() - dt.timedelta(days=100)
        late.save()

    page = log_in(chromium, live_server, "chefen")
    assert "Registrera livsmedelsverksamhet" in page.content()
    overflowing = page.evaluate(
        "[...document.querySelectorAll('.table-responsive')]"
        ".filter(e => e.scrollWidth > e.clientWidth).map(e => e.innerText.slice(0, 40))"
    )
    assert overflowing == []


def test_on_a_phone_the_dashboard_table_texts_are_not_cut_off(
    chromium, live_server, fast_passwords
):
    """At 390 px a wide table scrolls in its own region; its caption used to scroll with it and
    was cut off at the screen's edge ('how long cases stayed with th')."""
    from insights.models import fill_working_days

    fill_working_days(2025, 2027)
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    anna = officer(bygg, "anna")
    coordinator("samordnaren")
    for number in range(3):
        make_case(bygg, owner=anna, subject=f"Fråga {number}")

    page = log_in(chromium, live_server, "samordnaren")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/lots/?period=month")
    assert page.locator(".table-caption").count() > 0
    cut_off = page.evaluate(
        "[...document.querySelectorAll('caption, .table-caption')]"
        ".filter(e => getComputedStyle(e).position !== 'absolute')"
        ".filter(e => e.getBoundingClientRect().right > 390).map(e => e.innerText.slice(0, 40))"
    )
    assert cut_off == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_lead_moves_a_late_case_on_a_phone_without_scrolling_the_table(
    chromium, live_server, fast_passwords
):
    """At 390 px the "Flytta" button stays on the screen (it sat past the table's visible edge)
    and a case number is one word (it broke into "FL-" / "2026-" / "00001")."""
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    lead(bygg, "chefen")
    anna = officer(bygg, "anna")
    bo = officer(bygg, "bo")
    late = make_case(bygg, owner=anna, subject="Ombyggnad av pensionat vid torget")
    late.first_answer_due = timezone.localdate() - dt.timedelta(days=40)
    late.save()
    asked = make_case(DepartmentFactory(slug="miljo"), subject="Buller")
    work.case_request_contribution(
        case_id=asked.pk,
        actor=officer(asked.owning_department, "mia"),
        department=bygg,
        question="Hur ser er enhet på frågan? Behövs något från er?",
        due_on=timezone.localdate() + dt.timedelta(days=5),
    )
    page = log_in(chromium, live_server, "chefen")
    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()

    for link in page.locator("main table a", has_text=re.compile(r"^FL-")).all():
        box, line = link.bounding_box(), link.evaluate("a => getComputedStyle(a).lineHeight")
        assert box["height"] < 1.5 * float(line.removesuffix("px")), link.inner_text()
    move = page.get_by_role("button", name="Flytta")
    assert move.count() == 1
    box = move.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.get_by_label(f"Ny helhetsansvarig för {late.reference}").select_option(
        label=bo.get_full_name()
    )
    move.click()
    page.wait_for_url(re.compile(r"/handlaggning/$"))
    late.refresh_from_db()
    assert late.owner == bo


def test_officers_work_list_on_a_phone_shows_which_case_without_scrolling(
    chromium, live_server, fast_passwords
):
    """At 390 px the work list's table scrolls sideways: the case (number and subject) comes
    first, next to its due date, rather than past the screen's edge."""
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    anna = officer(bygg, "anna")
    case = make_case(bygg, owner=anna, subject="Skylt på fasaden")
    case.first_answer_due = timezone.localdate() - dt.timedelta(days=30)
    case.save()

    page = log_in(chromium, live_server, "anna")
    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()

    for text in (case.reference, "förfallen sedan"):
        box = page.locator("main table td", has_text=text).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + min(box["width"], 100) <= 390, text
