"""The officers' workspace pages at /handlaggning/: what an officer sees and does."""

import datetime as dt
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cases.deadlines import add_working_days
from cases.models import Case, CaseDepartment, CaseEvent, CaseOwnershipPeriod, Company, Message
from cases.services import work
from outbox.models import OutgoingEmail
from tests.factories import CaseFactory, CompanyFactory, DepartmentFactory, lead, officer

pytestmark = pytest.mark.django_db


@pytest.fixture
def units():
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten", email="bygg@norrtalje.se")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten", email="miljo@norrtalje.se")
    return bygg, miljo


@pytest.fixture
def anna(units):
    return officer(units[0], "anna")


@pytest.fixture
def mia(units):
    return officer(units[1], "mia")


def make_case(department, owner=None, **kwargs):
    case = CaseFactory(owning_department=department, owner=owner, **kwargs)
    CaseOwnershipPeriod.objects.create(case=case, department=department)
    return case


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


# --- Min arbetslista -----------------------------------------------------------------------


@dataclass
class FakeActionItem:
    title: str
    due_on: dt.date

    def get_absolute_url(self):
        return "/lots/moten/atgard/1/"


def test_staff_home_is_the_work_list_sorted_by_what_is_due_first(
    client, units, anna, mia, monkeypatch
):
    today = timezone.localdate()
    later = make_case(
        units[0], owner=anna, subject="Senare ärende", due_at=today + dt.timedelta(20)
    )
    later.first_answered_at = timezone.now()
    later.save()
    sooner = make_case(units[0], owner=anna, subject="Snart ärende")
    sooner.first_answer_due = today - dt.timedelta(days=3)
    sooner.save()
    others = make_case(units[1], owner=mia, subject="Mias ärende")
    asked = make_case(units[1], owner=mia, subject="Fråga till bygg")
    CaseDepartment.objects.create(
        case=asked,
        department=units[0],
        officer=anna,
        question="Behövs bygglov?",
        requested_at=timezone.now(),
        due_on=today + dt.timedelta(days=5),
    )
    monkeypatch.setattr(
        "meetings.selectors.open_action_items_for_user",
        lambda user: [FakeActionItem("Ring SRMH om tillståndet", today + dt.timedelta(days=10))],
    )
    client.force_login(anna)

    html = page(client, "/handlaggning/")

    order = [html.index(s) for s in ("Snart ärende", "Fråga till bygg", "Ring SRMH", "Senare")]
    assert order == sorted(order)
    assert others.subject not in html
    assert "förfallen sedan" in html
    assert "/lots/moten/atgard/1/" in html


# --- Enhetens kö ---------------------------------------------------------------------------


def test_queue_shows_unowned_cases_requests_and_transfers_and_take_is_one_click(
    client, units, anna, mia
):
    unowned = make_case(units[0], subject="Ingen har tagit mig", needs_triage=True)
    owned = make_case(units[0], owner=officer(units[0], "bo"), subject="Bos ärende")
    other_unit = make_case(units[1], subject="Miljös kö")
    needs_help = make_case(units[1], owner=mia, subject="Behöver bygg")
    work.case_request_contribution(
        case_id=needs_help.pk,
        actor=mia,
        department=units[0],
        question="Krävs bygglov för skylten?",
        due_on=needs_help.due_at,
    )
    offered = make_case(units[1], owner=mia, subject="Erbjuds bygg")
    work.case_transfer_offer(
        case_id=offered.pk, actor=mia, to_department=units[0], reason="Det är en bygglovsfråga"
    )
    client.force_login(anna)

    html = page(client, reverse("staff:queue"))

    assert unowned.subject in html and "Ska sorteras" in html
    assert "Krävs bygglov för skylten?" in html
    assert "Det är en bygglovsfråga" in html
    assert owned.subject not in html and other_unit.subject not in html

    response = client.post(reverse("staff:case_claim", args=[unowned.reference]))
    assert response.status_code == 302
    unowned.refresh_from_db()
    assert unowned.owner == anna
    assert unowned.subject not in page(client, reverse("staff:queue"))


def test_taking_a_case_someone_else_took_gives_a_clear_message(client, units, anna):
    case = make_case(units[0], owner=officer(units[0], "bo"))
    client.force_login(anna)
    response = client.post(reverse("staff:case_claim", args=[case.reference]), follow=True)
    assert "Ärendet har redan tagits av" in response.content.decode()
    case.refresh_from_db()
    assert case.owner.username == "bo"


# --- Alla ärenden --------------------------------------------------------------------------


def test_search_finds_by_reference_company_org_number_and_words(client, units, anna):
    company = CompanyFactory(name="Roslagens Kafé AB", org_number="556036-0793")
    kafe = make_case(units[0], company=company, subject="Uteservering", description="Bord ute")
    skylt = make_case(units[0], subject="Ny skylt", description="Fasadskylt i neon")
    client.force_login(anna)
    url = reverse("staff:case_list")

    for query in (kafe.reference, "roslagens", "5560360793", "556036-0793", "uteservering"):
        html = page(client, url, q=query)
        assert kafe.reference in html, query
        assert skylt.reference not in html, query
    assert skylt.reference in page(client, url, q="neon fasadskylt")


def test_search_never_reveals_a_case_outside_ones_reach(client, units, anna, mia):
    hidden = make_case(units[1], owner=mia, subject="Hemligt miljöärende")
    client.force_login(anna)
    response = client.get(reverse("staff:case_list"), {"q": hidden.reference})
    html = response.content.decode()
    assert list(response.context["page"].object_list) == []
    assert "0 ärenden" in html and hidden.subject not in html
    assert f'href="/handlaggning/arenden/{hidden.reference}/"' not in html
    assert client.get(reverse("staff:case_detail", args=[hidden.reference])).status_code == 404


def test_filters_status_owner_overdue_channel_and_dates(client, units, anna):
    today = timezone.localdate()
    late = make_case(units[0], owner=anna, subject="Försenat", due_at=today - dt.timedelta(9))
    phone = make_case(units[0], subject="Per telefon", channel="phone")
    old = make_case(
        units[0],
        subject="Gammalt",
        received_at=timezone.now() - dt.timedelta(days=60),
    )
    done = make_case(units[0], owner=anna, subject="Klart")
    work.case_close(case_id=done.pk, actor=anna, body="Klart.")
    client.force_login(anna)

    def found(**params):
        response = client.get(reverse("staff:case_list"), params)
        assert response.status_code == 200
        return {case.subject for case in response.context["page"].object_list}

    assert found(overdue="on") == {"Försenat"}
    assert found(channel="phone") == {"Per telefon"}
    assert found(status="closed") == {"Klart"}
    assert "Klart" not in found(status="open")
    assert found(owner=anna.pk) == {"Försenat", "Klart"}
    since = (today - dt.timedelta(days=7)).isoformat()
    assert found(received_from=since) == {late.subject, phone.subject, done.subject}
    assert found(received_to=(today - dt.timedelta(30)).isoformat()) == {old.subject}
    html = page(
        client,
        reverse("staff:case_list"),
        received_from=today.isoformat(),
        received_to="2001-01-01",
    )
    assert "Slutdatumet måste vara" in html


def test_case_list_is_paginated(client, units, anna, settings):
    settings.CASES_PER_PAGE = 5
    for n in range(12):
        make_case(units[0], subject=f"Ärende nummer {n}")
    client.force_login(anna)
    html = page(client, reverse("staff:case_list"))
    assert "12 ärenden" in html and "Sida 1 av 3" in html
    assert "Sida 3 av 3" in page(client, reverse("staff:case_list"), page=3)


# --- The case page -------------------------------------------------------------------------


def test_case_page_shows_header_deadlines_timeline_and_related_cases(client, units, anna, mia):
    company = CompanyFactory(name="Bageriet AB", org_number="556036-0793")
    case = make_case(units[0], owner=anna, company=company, contact_phone="0176-1")
    related = make_case(units[0], company=company, subject="Bageriets andra fråga")
    make_case(
        units[0], company=company, subject="Stängd fråga", status="closed", closed_at=timezone.now()
    )
    work.case_add_note(case_id=case.pk, actor=anna, body="Intern: ring först")
    request = work.case_request_contribution(
        case_id=case.pk, actor=anna, department=units[1], question="Buller?", due_on=case.due_at
    )
    work.case_contribute(part_id=request.part.pk, actor=mia, text="Inga krav på buller.")
    work.case_reply(case_id=case.pk, actor=anna, body="Hej, här är svaret.")
    client.force_login(anna)

    html = page(client, reverse("staff:case_detail", args=[case.reference]))

    for text in (
        case.reference,
        "Bageriet AB",
        "556036-0793",
        "0176-1",
        "Bygglovsenheten",
        "arbetsdagar kvar",
        "Intern: ring först",
        "Buller?",
        "Inga krav på buller.",
        "Hej, här är svaret.",
        related.reference,
    ):
        assert text in html, text
    assert "Stängd fråga" not in html


def test_contributing_officer_answers_on_the_case_page(client, units, anna, mia):
    case = make_case(units[0], owner=anna)
    request = work.case_request_contribution(
        case_id=case.pk, actor=anna, department=units[1], question="Buller?", due_on=case.due_at
    )
    client.force_login(mia)
    url = reverse("staff:contribution_answer", args=[case.reference, request.part.pk])

    response = client.post(url, {f"c{request.part.pk}-text": ""})
    assert "Skriv enhetens underlag eller yttrande." in response.content.decode()

    response = client.post(url, {f"c{request.part.pk}-text": "Inget krav."})
    assert response.status_code == 302
    assert CaseDepartment.objects.get(pk=request.part.pk).contribution == "Inget krav."
    # mia may answer and write notes but not reply to the company on anna's case
    reply = client.post(reverse("staff:case_reply", args=[case.reference]), {"body": "Hej"})
    assert reply.status_code == 403


def test_transfer_without_reason_shows_the_message_at_the_field(client, units, anna):
    case = make_case(units[0], owner=anna)
    client.force_login(anna)
    response = client.post(
        reverse("staff:case_transfer_offer", args=[case.reference]),
        {"to_department": units[1].pk, "reason": ""},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_transfer_reason"' in html and "Skriv varför ärendet ska lämnas över." in html
    assert not case.transfers.exists()


def test_closing_a_closed_case_tells_why_and_changes_nothing(client, units, anna):
    case = make_case(units[0], owner=anna)
    work.case_close(case_id=case.pk, actor=anna, body="Klart.")
    events = case.events.exclude(kind="viewed").count()
    client.force_login(anna)
    response = client.post(
        reverse("staff:case_close", args=[case.reference]), {"body": "Igen"}, follow=True
    )
    assert "Ärendet är redan avslutat." in response.content.decode()
    assert case.events.exclude(kind="viewed").count() == events
    assert case.messages.filter(is_final_answer=True).count() == 1


def test_late_contribution_request_warns_the_owner(client, units, anna):
    case = make_case(units[0], owner=anna)
    client.force_login(anna)
    response = client.post(
        reverse("staff:case_request_contribution", args=[case.reference]),
        {
            "department": units[1].pk,
            "question": "Yttrande?",
            "due_on": (case.due_at + dt.timedelta(days=5)).isoformat(),
        },
        follow=True,
    )
    assert "efter ärendets egen tidsgräns" in response.content.decode()
    assert CaseDepartment.objects.get(case=case, department=units[1]).is_outstanding


def test_receiving_unit_accepts_a_transfer_on_the_case_page(client, units, anna, mia):
    case = make_case(units[0], owner=anna)
    transfer = work.case_transfer_offer(
        case_id=case.pk, actor=anna, to_department=units[1], reason="Buller"
    )
    client.force_login(mia)
    html = page(client, reverse("staff:case_detail", args=[case.reference]))
    assert "Ta emot ärendet" in html
    response = client.post(reverse("staff:transfer_accept", args=[case.reference, transfer.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.owner == mia and case.owning_department == units[1]


def test_reply_and_close_through_the_page(client, units, anna, django_capture_on_commit_callbacks):
    case = make_case(units[0], owner=anna)
    client.force_login(anna)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff:case_reply", args=[case.reference]), {"body": "Svar ett"})
        client.post(reverse("staff:case_close", args=[case.reference]), {"body": "Slutsvar"})
    case.refresh_from_db()
    assert case.status == "closed"
    bodies = [m.body for m in mail.outbox if m.to == [case.contact_email]]
    assert any("Svar ett" in b for b in bodies) and any("Slutsvar" in b for b in bodies)


def test_areas_change_through_the_page(client, norrtalje):
    from departments.models import Department, ResponsibilityArea

    bygg = Department.objects.get(slug="bygglovsenheten")
    anna = officer(bygg, "anna")
    case = make_case(bygg, owner=anna)
    area = ResponsibilityArea.objects.get(slug="bygglov")
    other = ResponsibilityArea.objects.get(slug="markupplatelse")
    client.force_login(anna)
    response = client.post(
        reverse("staff:case_areas", args=[case.reference]),
        {"primary": area.pk, "others": [other.pk]},
    )
    assert response.status_code == 302
    assert case.events.filter(kind=CaseEvent.Kind.AREAS_CHANGED).exists()
    case.refresh_from_db()
    assert case.primary_area == area


# --- Staff registration --------------------------------------------------------------------


def test_staff_register_a_phone_inquiry_with_the_channel(client, norrtalje):
    from departments.models import Department

    kc = Department.objects.get(slug="naringslivsenheten")
    person = lead(kc, "lotsen")
    client.force_login(person)
    response = client.post(
        reverse("staff:register"),
        {
            "channel": "phone",
            "org_number": "556036-0793",
            "company_name": "Roslagens Kafé AB",
            "contact_name": "Maria Lind",
            "email": "maria@example.se",
            "phone": "",
            "area": "",
            "subject": "Uteservering på torget",
            "description": "Vi vill ställa ut bord på torget och servera öl.",
            "consent": "on",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.channel == "phone"
    assert case.events.get(kind="created").actor == person
    assert Company.objects.get().org_number == "556036-0793"
    assert OutgoingEmail.objects.filter(kind="receipt", to="maria@example.se").exists()


def test_staff_register_shows_errors_at_the_fields(client, units, anna):
    client.force_login(anna)
    response = client.post(reverse("staff:register"), {"channel": "phone"})
    html = response.content.decode()
    assert response.status_code == 200 and not Case.objects.exists()
    assert 'href="#id_company_name"' in html


def test_staff_register_asks_to_confirm_the_company_was_informed_not_to_have_read(
    client, units, anna
):
    """The officer ticks "Företaget har informerats…": the message left unticked says that,
    not the company's "Du behöver bekräfta att du har läst om personuppgifter"."""
    client.force_login(anna)

    response = client.post(reverse("staff:register"), {"channel": "phone"})

    (message,) = response.context["form"].errors["consent"]
    assert "informerats" in message and "du har läst" not in message


# --- Accessibility basics ------------------------------------------------------------------


class _Audit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings, self.labels, self.fields, self.ids = [], set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label" and attrs.get("for"):
            self.labels.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in (
            "hidden",
            "submit",
        ):
            self.fields.append(attrs.get("id"))


def audit(html):
    parser = _Audit()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("name", ["home", "queue", "case_list", "register", "case_detail"])
def test_pages_have_labelled_fields_and_headings_in_order(client, units, anna, mia, name):
    case = make_case(units[0], owner=anna)
    transfer_case = make_case(units[1], owner=mia)
    work.case_transfer_offer(
        case_id=transfer_case.pk, actor=mia, to_department=units[0], reason="Bygg"
    )
    client.force_login(lead(units[0], "chefen"))
    args = [case.reference] if name == "case_detail" else []
    html = page(client, reverse(f"staff:{name}", args=args))
    result = audit(html)
    assert result.headings[0] == 1 and result.headings.count(1) == 1
    for before, after in zip(result.headings, result.headings[1:], strict=False):
        assert after <= before + 1, result.headings
    unlabelled = [f for f in result.fields if f not in result.labels]
    assert not unlabelled, unlabelled
    duplicates = {i for i in result.ids if result.ids.count(i) > 1}
    assert not duplicates, duplicates
    assert 'id="main"' in html


def test_internal_notes_are_marked_internal_on_the_case_page(client, units, anna):
    case = make_case(units[0], owner=anna)
    Message.objects.create(case=case, kind="internal", author=anna, body="Bara för oss")
    client.force_login(anna)
    html = page(client, reverse("staff:case_detail", args=[case.reference]))
    assert "Intern anteckning" in html and "Bara för oss" in html


# --- Deadline, failed e-mail and meetings on the case page ---------------------------------


def test_owner_extends_the_deadline_and_the_company_sees_date_and_reason(client, units, anna):
    case = make_case(units[0], owner=anna)
    new_due = add_working_days(case.due_at, 10)
    client.force_login(anna)
    assert "Ändra tidsgränsen" in page(client, reverse("staff:case_detail", args=[case.reference]))

    response = client.post(
        reverse("staff:case_extend_deadline", args=[case.reference]),
        {"new_due": new_due.isoformat(), "reason": "Vi väntar på länsstyrelsens yttrande."},
        follow=True,
    )

    assert "Tidsgränsen är ändrad." in response.content.decode()
    case.refresh_from_db()
    assert case.due_at == new_due
    assert case.events.get(kind=CaseEvent.Kind.DEADLINE_EXTENDED).is_public
    follower = case.followers.create(name="Kim", email="kim@example.se", is_primary_contact=True)
    client.logout()
    tracking = page(client, reverse("cases_public:tracking", args=[follower.token]))
    assert "Vi väntar på länsstyrelsens yttrande." in tracking
    assert str(new_due.year) in tracking


def test_extending_to_an_earlier_date_or_without_reason_shows_errors_at_the_fields(
    client, units, anna
):
    case = make_case(units[0], owner=anna)
    old_due = case.due_at
    client.force_login(anna)

    response = client.post(
        reverse("staff:case_extend_deadline", args=[case.reference]),
        {"new_due": old_due.isoformat(), "reason": ""},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_extend_reason"' in html and "Företaget ser skälet." in html
    case.refresh_from_db()
    assert case.due_at == old_due
    assert not case.events.filter(kind=CaseEvent.Kind.DEADLINE_EXTENDED).exists()

    response = client.post(
        reverse("staff:case_extend_deadline", args=[case.reference]),
        {"new_due": old_due.isoformat(), "reason": "Mer tid behövs."},
    )
    html = response.content.decode()
    assert 'href="#id_extend_new_due"' in html and "senare än nuvarande tidsgräns" in html
    case.refresh_from_db()
    assert case.due_at == old_due


def test_another_units_officer_cannot_extend_the_deadline(client, units, anna, mia):
    case = make_case(units[0], owner=anna)
    old_due = case.due_at
    client.force_login(mia)
    response = client.post(
        reverse("staff:case_extend_deadline", args=[case.reference]),
        {"new_due": (old_due + dt.timedelta(days=7)).isoformat(), "reason": "Vill ha mer tid"},
    )
    assert response.status_code in (403, 404)
    case.refresh_from_db()
    assert case.due_at == old_due


def test_case_page_warns_about_e_mail_that_could_not_be_delivered(client, units, anna):
    case = make_case(units[0], owner=anna)
    OutgoingEmail.objects.create(
        kind="reply",
        to="fel@adress.invalid",
        subject="Svar i ärende",
        body="Hej",
        subject_id=case.pk,
        status=OutgoingEmail.Status.FAILED,
        attempts=5,
        last_error="550 mailbox unavailable",
    )
    client.force_login(anna)
    html = page(client, reverse("staff:case_detail", args=[case.reference]))
    assert "E-post som inte kom fram" in html
    assert "fel@adress.invalid" in html and "550 mailbox unavailable" in html


def test_case_page_lists_its_lots_meetings_and_offers_booking(client, units, anna):
    from meetings.models import LotsMeeting

    case = make_case(units[0], owner=anna)
    client.force_login(anna)
    html = page(client, reverse("staff:case_detail", args=[case.reference]))
    assert "Inga möten om ärendet ännu." in html
    assert reverse("meetings:book_for_case", args=[case.reference]) in html

    starts = timezone.now() + dt.timedelta(days=3)
    LotsMeeting.objects.create(
        kind=LotsMeeting.Kind.COMPANY,
        title="Lotsmöte om restaurangen",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        case=case,
    )
    html = page(client, reverse("staff:case_detail", args=[case.reference]))
    assert "Lotsmöte om restaurangen" in html


def test_the_overview_link_is_shown_to_unit_leads_but_not_to_officers(client, units, anna):
    boss = lead(units[0], "chefen")
    client.force_login(boss)
    assert f'href="{reverse("insights:dashboard")}"' in page(client, reverse("staff:home"))
    client.force_login(anna)
    assert f'href="{reverse("insights:dashboard")}"' not in page(client, reverse("staff:home"))


def test_odd_filter_input_is_shown_at_its_field_never_an_error_page(client, units, anna):
    make_case(units[0], subject="Synligt")
    client.force_login(anna)
    odd = {
        "q": "ord " * 60,
        "unit": "abc",
        "area": "1.5",
        "owner": "999999",
        "status": "bogus",
        "received_from": "igår",
        "channel": "phone",
    }
    response = client.get(reverse("staff:case_list"), odd)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"q", "unit", "area", "owner", "status", "received_from"}
    assert "ÅÅÅÅ-MM-DD" in errors["received_from"][0]
    assert "Välj ett giltigt alternativ" in errors["unit"][0]
    # Nothing is filtered while the form has errors; the user sees what to correct.
    assert [case.subject for case in response.context["page"].object_list] == ["Synligt"]
    assert client.get(reverse("staff:case_list"), {"q": "Hej\x00då"}).status_code == 400


def test_bookmarked_list_address_filters_the_same_way(client, units, anna):
    mine = make_case(units[0], owner=anna, subject="Min")
    make_case(units[1], subject="Annan enhet")
    client.force_login(anna)
    query = f"?q=Min&status=open&unit={units[0].pk}&owner={anna.pk}&channel=&received_from="
    response = client.get(reverse("staff:case_list") + query)

    assert [case.pk for case in response.context["page"].object_list] == [mine.pk]
    assert response.context["form"]["unit"].value() == str(units[0].pk)
