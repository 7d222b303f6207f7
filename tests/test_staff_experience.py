"""Issue 13: what an officer, a unit lead and a coordinator meet in their workspace."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseArea, CaseDepartment, CaseOwnershipPeriod
from cases.services import work
from outbox.models import OutgoingEmail
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory, lead, officer

pytestmark = pytest.mark.django_db


@pytest.fixture
def units():
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten", email="bygg@norrtalje.se")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten", email="miljo@norrtalje.se")
    return bygg, miljo


def make_case(department, owner=None, **kwargs):
    case = CaseFactory(owning_department=department, owner=owner, **kwargs)
    CaseOwnershipPeriod.objects.create(case=case, department=department)
    return case


def html_of(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, element_id: str) -> str:
    """The text of the <details> or <section> with the given id."""
    start = html.index(f'id="{element_id}"')
    tag = (
        "details"
        if html.rfind("<details", 0, start) > html.rfind("<section", 0, start)
        else "section"
    )
    return html[start : html.index(f"</{tag}>", start)]


# --- Min arbetslista -----------------------------------------------------------------------


def test_work_list_holds_unit_requests_transfer_offers_and_waiting_cases(client, units):
    bygg, miljo = units
    anna = officer(bygg, "anna")
    mia = officer(miljo, "mia")
    asked = make_case(miljo, owner=mia, subject="Buller från fläkt")
    work.case_request_contribution(
        case_id=asked.pk,
        actor=mia,
        department=bygg,
        question="Krävs bygglov för fläkten?",
        due_on=timezone.localdate() + dt.timedelta(days=5),
    )
    offered = make_case(miljo, owner=mia, subject="Plank mot gatan")
    work.case_transfer_offer(
        case_id=offered.pk, actor=mia, to_department=bygg, reason="Plank kräver bygglov."
    )
    waiting = make_case(bygg, owner=anna, subject="Ritningar saknas")
    work.case_wait_for_company(case_id=waiting.pk, actor=anna, body="Skicka ritningarna.")

    client.force_login(anna)
    html = html_of(client, reverse("staff:home"))

    assert "Buller från fläkt" in html and "Ta begäran" in html
    assert "Plank mot gatan" in html and "Acceptera eller avböj" in html
    assert "Ritningar saknas" in html and "Väntar på företaget" in html
    assert re.search(r"Åter \d+ \w+", html)


def test_work_list_leaves_out_other_units_requests(client, units):
    bygg, miljo = units
    anna = officer(bygg, "anna")
    mia = officer(miljo, "mia")
    other = DepartmentFactory(slug="gata", name="Gatuenheten")
    case = make_case(miljo, owner=mia, subject="Skylt vid vägen")
    work.case_request_contribution(
        case_id=case.pk,
        actor=mia,
        department=other,
        question="Får skylten stå där?",
        due_on=timezone.localdate() + dt.timedelta(days=5),
    )
    client.force_login(anna)
    assert "Skylt vid vägen" not in html_of(client, reverse("staff:home"))


# --- Status follows the work ---------------------------------------------------------------


@pytest.mark.parametrize("action", ["request_contribution", "transfer_offer", "note"])
def test_work_on_a_new_case_moves_it_to_under_handlaggning(client, units, action):
    bygg, miljo = units
    anna = officer(bygg, "anna")
    case = make_case(bygg, owner=anna)
    assert case.status == Case.Status.RECEIVED
    if action == "request_contribution":
        work.case_request_contribution(
            case_id=case.pk,
            actor=anna,
            department=miljo,
            question="Behövs anmälan?",
            due_on=timezone.localdate() + dt.timedelta(days=3),
        )
    elif action == "transfer_offer":
        work.case_transfer_offer(case_id=case.pk, actor=anna, to_department=miljo, reason="Miljö.")
    else:
        work.case_add_note(case_id=case.pk, actor=anna, body="Ringde företaget.")
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    client.force_login(anna)
    assert "Under handläggning" in html_of(
        client, reverse("staff:case_detail", args=[case.reference])
    )


def test_work_on_a_case_waiting_for_the_company_keeps_it_waiting(units):
    bygg, _miljo = units
    anna = officer(bygg, "anna")
    case = make_case(bygg, owner=anna)
    work.case_wait_for_company(case_id=case.pk, actor=anna, body="Skicka ritningarna.")
    work.case_add_note(case_id=case.pk, actor=anna, body="Påminde per telefon.")
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING_FOR_COMPANY


# --- Help texts ----------------------------------------------------------------------------


def test_each_action_section_shows_its_own_help_text(client, units):
    bygg, _miljo = units
    boss = lead(bygg, "chefen")
    case = make_case(bygg, owner=boss)
    client.force_login(boss)
    html = html_of(client, reverse("staff:case_detail", args=[case.reference]))
    extend_text = "Förläng tidsgränsen när ärendet behöver mer tid"
    areas_text = "Rätta områdena när fördelningen blev fel"
    assert extend_text in section(html, "extend")
    assert extend_text not in section(html, "close")
    assert areas_text in section(html, "areas")
    assert areas_text not in section(html, "assign")
    intros = [
        re.search(r"<p>([^<]+)</p>", section(html, name)).group(1)
        for name in ("reply", "note", "transfer", "assign", "extend", "close", "areas")
    ]
    assert len(set(intros)) == len(intros)


# --- The consolidated answer ---------------------------------------------------------------


def test_final_answer_shows_answered_contributions_to_quote(client, units):
    bygg, miljo = units
    anna = officer(bygg, "anna")
    mia = officer(miljo, "mia")
    mia.first_name, mia.last_name = "Mia", "Ek"
    mia.save()
    case = make_case(bygg, owner=anna)
    asked = work.case_request_contribution(
        case_id=case.pk,
        actor=anna,
        department=miljo,
        question="Behövs anmälan för köket?",
        due_on=timezone.localdate() + dt.timedelta(days=3),
    )
    work.case_contribute(part_id=asked.part.pk, actor=mia, text="Ja, anmäl köket till oss.")
    client.force_login(anna)
    close = section(html_of(client, reverse("staff:case_detail", args=[case.reference])), "close")
    assert "Underlag från andra enheter" in close
    assert "Miljöenheten" in close and "Mia Ek" in close
    assert "Ja, anmäl köket till oss." in close
    assert 'data-insert-into="id_close_body"' in close and "Infoga" in close


# --- Registering a phone or visit case -----------------------------------------------------


def test_phone_case_without_email_sends_nothing_and_the_case_page_says_so(client, norrtalje):
    from tests.factories import coordinator

    person = coordinator()
    client.force_login(person)
    form = html_of(client, reverse("staff:register"))
    assert "Kontaktperson" in form and "Ditt namn" not in form
    response = client.post(
        reverse("staff:register"),
        {
            "channel": "visit",
            "company_name": "Roslagens Kafé AB",
            "contact_name": "Maria Lind",
            "email": "",
            "phone": "0176-123 45",
            "subject": "Uteservering på torget",
            "description": "Vi vill ställa ut bord på torget och servera öl.",
            "consent": "on",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.contact_email == ""
    work.case_wait_for_company(case_id=case.pk, actor=person, body="Ring oss med ritningen.")
    assert not OutgoingEmail.objects.filter(to="").exists()
    assert not OutgoingEmail.objects.filter(kind="receipt").exists()
    html = html_of(client, reverse("staff:case_detail", args=[case.reference]))
    assert "Ingen e-post går ut i ärendet" in html


def test_a_phone_case_with_letters_for_a_number_is_refused_at_the_phone_field(client, norrtalje):
    from tests.factories import coordinator

    client.force_login(coordinator())
    response = client.post(
        reverse("staff:register"),
        {
            "channel": "phone",
            "company_name": "Roslagens Kafé AB",
            "contact_name": "Maria Lind",
            "phone": "ring växeln",
            "subject": "Uteservering på torget",
            "description": "Vi vill ställa ut bord på torget.",
            "consent": "on",
        },
    )

    assert response.status_code == 200
    assert "Skriv telefonnumret med siffror" in response.context["form"].errors["phone"][0]
    assert not Case.objects.exists()


def test_in_the_admin_a_contact_phone_is_checked_like_on_the_form(admin_client, norrtalje):
    case = CaseFactory(contact_phone="070-123 45 67")
    url = reverse("admin:cases_case_change", args=[case.pk])
    page = admin_client.get(url).context
    form = page["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    for inline in page["inline_admin_formsets"]:
        management = inline.formset.management_form
        data |= {
            management.add_prefix(name): management[name].value() for name in management.fields
        }

    refused = admin_client.post(url, {**data, "contact_phone": "abc"})

    assert refused.status_code == 200
    assert "Skriv telefonnumret med siffror" in str(refused.context["adminform"].form.errors)
    case.refresh_from_db()
    assert case.contact_phone == "070-123 45 67"
    assert admin_client.post(url, {**data, "contact_phone": "0176-710 00"}).status_code == 302
    case.refresh_from_db()
    assert case.contact_phone == "0176-710 00"


def test_unit_part_is_visible_as_contribution_in_worklist_once_taken(client, units):
    bygg, miljo = units
    anna = officer(bygg, "anna")
    mia = officer(miljo, "mia")
    case = make_case(miljo, owner=mia, subject="Fettavskiljare")
    asked = work.case_request_contribution(
        case_id=case.pk,
        actor=mia,
        department=bygg,
        question="Bygglov?",
        due_on=timezone.localdate() + dt.timedelta(days=5),
    )
    work.case_claim_contribution(part_id=asked.part.pk, actor=anna)
    assert CaseDepartment.objects.get(pk=asked.part.pk).officer == anna
    client.force_login(anna)
    html = html_of(client, reverse("staff:home"))
    assert "Underlag från Bygglovsenheten" in html


# --- The unit lead's overview --------------------------------------------------------------


def test_lead_start_page_is_the_unit_overview_with_the_leads_actions(client, units):
    bygg, miljo = units
    boss = lead(bygg, "chefen")
    anna = officer(bygg, "anna")
    away = officer(bygg, "borta", available=False)
    mia = officer(miljo, "mia")
    today = timezone.localdate()
    late = make_case(bygg, owner=anna, subject="Sen fråga", due_at=today - dt.timedelta(days=5))
    late.first_answered_at = timezone.now()
    late.save()
    unowned = make_case(bygg, subject="Ingen har tagit")
    offered = make_case(miljo, owner=mia, subject="Erbjuden till bygg")
    transfer = work.case_transfer_offer(
        case_id=offered.pk, actor=mia, to_department=bygg, reason="Bygglov."
    )
    client.force_login(boss)
    html = html_of(client, reverse("staff:home"))
    assert "Enhetens översikt" in html and "Du har inga öppna ärenden" not in html
    assert "Sen fråga" in html and "förfallen sedan" in html
    assert "Ingen har tagit" in html and "Erbjuden till bygg" in html
    assert "Borta" in html  # availability
    assert reverse("staff:transfer_accept", args=[offered.reference, transfer.pk]) in html

    # Reassigning from the overview comes back to the overview.
    response = client.post(
        reverse("staff:case_assign", args=[unowned.reference]),
        {"assignee": anna.pk, "next": reverse("staff:home")},
    )
    assert response.status_code == 302 and response.url == reverse("staff:home")
    unowned.refresh_from_db()
    assert unowned.owner == anna
    response = client.post(
        reverse("staff:transfer_accept", args=[offered.reference, transfer.pk]),
        {"new_owner": anna.pk, "next": reverse("staff:home")},
    )
    assert response.url == reverse("staff:home")
    offered.refresh_from_db()
    assert offered.owning_department == bygg and offered.owner == anna
    assert away.pk  # listed, not routed to


def test_saving_the_areas_unchanged_is_information_not_an_error(client, units):
    """Nothing changed is not a mistake: a neutral note, no red error, nothing recorded."""
    bygg, miljo = units
    anna = officer(bygg, "anna")
    skylt = AreaFactory(slug="skylt", name="Skyltar", owner=bygg)
    buller = AreaFactory(slug="buller", name="Buller", owner=miljo)
    fasad = AreaFactory(slug="fasad", name="Fasader", owner=bygg)
    case = make_case(bygg, owner=anna, primary_area=skylt)
    for position, area in enumerate((skylt, fasad, buller)):  # others not in name order
        CaseArea.objects.create(case=case, area=area, is_primary=not position, position=position)
    client.force_login(anna)

    response = client.post(
        reverse("staff:case_areas", args=[case.reference]),
        {"primary": skylt.pk, "others": [buller.pk, fasad.pk]},
        follow=True,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'alert-info">Områdena är desamma som förut', html), html
    assert "alert-danger" not in html
    assert not case.events.filter(kind="areas_changed").exists()


def test_move_offers_everyone_but_the_current_owner(client, units):
    """Moving a case to the officer who already has it is no move: the lead's "Flytta" list
    and the case page's list leave the current owner out, and say who has the case."""
    bygg, _miljo = units
    boss = lead(bygg, "chefen")
    anna = officer(bygg, "anna")
    bo = officer(bygg, "bo")
    anna.first_name, anna.last_name = "Anna", "Ask"
    anna.save()
    late = make_case(
        bygg, owner=anna, subject="Sen fråga", due_at=timezone.localdate() - dt.timedelta(days=5)
    )
    client.force_login(boss)

    home = html_of(client, reverse("staff:home"))
    select = home.index(f'id="assign-{late.pk}"')
    move = home[select : home.index("</select>", select)]
    assert f'value="{anna.pk}"' not in move and f'value="{bo.pk}"' in move
    assert "Anna Ask" in home[home.rindex("<tr", 0, select) : select]  # who has it, still shown

    page = html_of(client, reverse("staff:case_detail", args=[late.reference]))
    assign = section(page, "assign")
    assert f'value="{anna.pk}"' not in assign and f'value="{bo.pk}"' in assign


def test_officer_start_page_stays_the_work_list(client, units):
    anna = officer(units[0], "anna")
    client.force_login(anna)
    html = html_of(client, reverse("staff:home"))
    assert "Enhetens översikt" not in html and "Min arbetslista" in html


# --- Admin ---------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.se", "x")


def test_admin_case_state_is_read_only_with_a_link_to_the_case_page(client, units, superuser):
    bygg, _miljo = units
    anna = officer(bygg, "anna")
    anna.first_name, anna.last_name = "Anna", "Berg"
    anna.save()
    case = make_case(bygg, owner=anna)
    work.case_add_note(case_id=case.pk, actor=anna, body="Ringde företaget.")
    case.refresh_from_db()
    client.force_login(superuser)
    url = reverse("admin:cases_case_change", args=[case.pk])
    html = html_of(client, url)
    for name in ("status", "owner", "owning_department", "due_at", "first_answer_due"):
        assert f'name="{name}"' not in html, name
    assert reverse("staff:case_detail", args=[case.reference]) in html
    assert "Anna Berg" in html
    assert "Händelse" in html and "Syns för företaget" in html  # Swedish inline headers
    assert "<strong>message_id:</strong>" in html  # event data shown as readable lines

    # Posting a new status through the admin changes nothing.
    client.post(
        url,
        {
            "company": case.company_id,
            "contact_name": case.contact_name,
            "contact_email": case.contact_email,
            "subject": case.subject,
            "description": case.description,
            "channel": case.channel,
            "status": "closed",
            "owner": "",
        },
    )
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS and case.owner == anna
    assert client.get(reverse("admin:cases_case_add")).status_code == 403


def test_admin_lists_show_staff_by_full_name(client, units, superuser):
    bygg, _miljo = units
    anna = officer(bygg, "anna")
    anna.first_name, anna.last_name = "Anna", "Berg"
    anna.save()
    make_case(bygg, owner=anna)
    client.force_login(superuser)
    assert "Anna Berg" in html_of(client, reverse("admin:cases_case_changelist"))
    assert "Anna Berg" in html_of(client, reverse("admin:departments_membership_changelist"))
    assert "Anna Berg" in html_of(client, reverse("admin:auth_user_changelist"))


# --- Meetings ------------------------------------------------------------------------------


def _internal_meeting(coordinator_user, departments, *, starts_in: dt.timedelta, agenda=()):
    from meetings import services as meeting_services

    start = timezone.now() + starts_in
    return meeting_services.meeting_book_internal(
        actor=coordinator_user,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        department_ids=[d.pk for d in departments],
        agenda_keys=list(agenda),
        place="Tingshuset",
    )


def test_empty_agenda_explains_itself_and_proposes_stalled_cases(client, units):
    from tests.factories import coordinator

    bygg, miljo = units
    boss = coordinator()
    stalled = make_case(bygg, subject="Ingen tar den här")
    meeting = _internal_meeting(boss, units, starts_in=dt.timedelta(days=3))
    client.force_login(boss)
    html = html_of(client, meeting.get_absolute_url())
    assert "Dagordningen är tom" in html and "utan helhetsansvarig" in html
    assert "Förslag till dagordningen" in html and stalled.reference in html
    assert "Minnesanteckningar kan skrivas när mötet har börjat" in html
    assert 'name="minutes"' not in html  # no form to type into before the meeting
    assert "Visas för företaget" not in html  # a samverkansmöte has no company

    response = client.post(
        reverse("meetings:add_agenda_item", args=[meeting.pk]),
        {"case_reference": stalled.reference},
    )
    assert response.status_code == 302
    html = html_of(client, meeting.get_absolute_url())
    agenda = html[html.index('id="agenda-heading"') :]
    agenda = agenda[: agenda.index("</section>")]
    shown = re.sub(r"<[^>]+>", "", agenda)  # the text a reader sees
    assert shown.count(stalled.reference) == 1 and "Ingen tar den här" in shown


def test_minutes_before_the_start_say_so_once(client, units):
    from tests.factories import coordinator

    boss = coordinator()
    meeting = _internal_meeting(boss, units, starts_in=dt.timedelta(hours=2))
    client.force_login(boss)
    response = client.post(
        reverse("meetings:minutes", args=[meeting.pk]), {"minutes": "Vi pratade."}, follow=True
    )
    html = response.content.decode()
    assert html.count("Minnesanteckningar kan skrivas först när mötet har börjat.") == 1


def test_action_owner_list_carries_units_and_attendance_starts_unticked(client, units):
    from tests.factories import coordinator

    bygg, miljo = units
    anna = officer(bygg, "anna")
    mia = officer(miljo, "mia")
    boss = coordinator()
    meeting = _internal_meeting(boss, units, starts_in=dt.timedelta(hours=2))
    meeting.starts_at = timezone.now() - dt.timedelta(minutes=5)
    meeting.save(update_fields=["starts_at"])
    client.force_login(boss)
    html = html_of(client, meeting.get_absolute_url())
    assert "---------" not in html
    owner_select = html[
        html.index('name="owner"') : html.index("</select>", html.index('name="owner"'))
    ]
    assert f'value="{anna.pk}" data-units="{bygg.pk}"' in owner_select
    assert f'value="{mia.pk}" data-units="{miljo.pk}"' in owner_select
    attended = re.findall(r'<input[^>]*name="attended"[^>]*>', html)
    assert attended and not any("checked" in box for box in attended)
    assert "Visas för företaget" not in html


# --- seed_demo -----------------------------------------------------------------------------


def test_seed_demo_tells_a_year_long_story_and_runs_once(norrtalje, settings):
    from django.core.management import call_command

    from insights.models import Feedback
    from meetings.models import ActionItem, LotsMeeting
    from outbox.models import OutgoingEmail

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", verbosity=0, cases=120, officers=2)
    cases = Case.objects.all()
    months = {(c.received_at.year, c.received_at.month) for c in cases}
    assert len(months) >= 11  # spread over twelve months
    assert cases.filter(status=Case.Status.CLOSED).count() > 40
    assert cases.overdue().exists()  # some run late
    assert cases.filter(transfer_count__gte=2).exists()  # some bounce
    assert cases.filter(case_departments__done_at__isnull=False).exists()  # contributions
    assert Feedback.objects.filter(answered_at__isnull=False).exists()
    assert LotsMeeting.objects.filter(minutes_published_at__isnull=False).exists()
    assert ActionItem.objects.filter(done_at__isnull=True).exists()
    closed = cases.filter(status=Case.Status.CLOSED).first()
    assert closed.closed_at > closed.received_at + dt.timedelta(days=1)  # time really passed
    assert not OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING).exists()

    count = cases.count()
    call_command("seed_demo", verbosity=0)
    assert Case.objects.count() == count  # idempotent


def test_lead_overview_queries_do_not_grow_with_the_cases(client, units):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bygg, miljo = units
    boss = lead(bygg, "chefen")
    anna = officer(bygg, "anna")
    client.force_login(boss)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            html_of(client, reverse("staff:home"))
        return len(captured)

    make_case(bygg, owner=anna)
    few = queries()
    for number in range(8):
        make_case(bygg, owner=anna if number % 2 else None, subject=f"Fråga {number}")
    assert queries() == few


def test_in_english_the_responsible_unit_is_not_called_an_officer(client, units):
    bygg, _miljo = units
    anna = officer(bygg, "anna")
    case = make_case(bygg, owner=anna)
    area = AreaFactory(name="Uteservering", name_en="Outdoor seating", owner=bygg)
    CaseArea.objects.create(case=case, area=area, is_primary=True)
    client.force_login(anna)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    html = html_of(client, reverse("staff:case_detail", args=[case.reference]))

    assert "Bygglovsenheten – responsible</li>" in html
    assert "Bygglovsenheten – the responsible officer" not in html
    assert "<dd>Outdoor seating</dd>" in html  # the area by its English name
