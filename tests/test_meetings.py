"""Lots meetings: booking from a case, samverkansmöten, minutes, action items and follow-up."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from icalendar import Calendar

from cases.models import CaseArea, CaseDepartment, CaseEvent, Reminder
from followup.reminders import reminder_sweep
from meetings import selectors, services
from meetings.ics import meeting_ics
from meetings.models import ActionItem, LotsMeeting, MeetingInvitation
from meetings.reminders import DUE_SOON, ESCALATED, OVERDUE
from outbox.models import OutgoingEmail
from tests.factories import (
    AreaFactory,
    CaseFactory,
    DepartmentFactory,
    coordinator,
    lead,
    officer,
)

pytestmark = pytest.mark.django_db

STHLM = ZoneInfo("Europe/Stockholm")
# Thursday 26 November 2026, ISO week 48 (an even week), 10:00 in Norrtälje.
THURSDAY_MORNING = dt.datetime(2026, 11, 26, 10, 0, tzinfo=STHLM)


def at(day, hour, minute=0):
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=STHLM)


@pytest.fixture
def world(db):
    """A multi-unit case: Bygglov owns it, Miljö contributes, Räddning is usually consulted."""
    bygg = DepartmentFactory(name="Bygglov", slug="bygglov")
    miljo = DepartmentFactory(name="Miljö och hälsa", slug="miljo")
    raddning = DepartmentFactory(name="Räddningstjänsten", slug="raddning")
    DepartmentFactory(name="Kultur och fritid", slug="kultur")
    bygglov_area = AreaFactory(slug="bygglov", name="Bygglov", owner=bygg)
    bygglov_area.consulted.add(raddning)
    livsmedel = AreaFactory(slug="livsmedel", name="Livsmedel", owner=miljo)
    owner = officer(bygg, username="helena")
    owner.first_name, owner.last_name = "Helena", "Berg"
    owner.save()
    miljo_officer = officer(miljo, username="mikael")
    miljo_lead = lead(miljo, username="miljochef")
    raddning_officer = officer(raddning, username="rasmus")
    outsider = officer(bygg, username="bertil")
    case = CaseFactory(
        owning_department=bygg, owner=owner, subject="Ny restaurang i hamnen", status="in_progress"
    )
    CaseArea.objects.create(case=case, area=bygglov_area, is_primary=True, position=0)
    CaseArea.objects.create(case=case, area=livsmedel, position=1)
    CaseDepartment.objects.create(case=case, department=miljo, role="contributor")
    return type(
        "World",
        (),
        {
            "bygg": bygg,
            "miljo": miljo,
            "raddning": raddning,
            "owner": owner,
            "miljo_officer": miljo_officer,
            "miljo_lead": miljo_lead,
            "raddning_officer": raddning_officer,
            "outsider": outsider,
            "case": case,
            "coordinator": coordinator(),
        },
    )


def book(world, actor=None, **changes):
    start = at(dt.date(2026, 12, 10), 14)
    kwargs = {
        "case_id": world.case.pk,
        "actor": actor or world.owner,
        "starts_at": start,
        "ends_at": start + dt.timedelta(hours=2),
        "department_ids": [world.bygg.pk, world.miljo.pk, world.raddning.pk],
        "place": "Kommunhuset, Estrid Ericsons väg 4; rum Lotsen",
        "company_participants": "Maria Lind, vd\nOla Sund, arkitekt",
    }
    kwargs.update(changes)
    return services.meeting_book_for_case(**kwargs)


# --- when ------------------------------------------------------------------------------------


def test_next_lots_slot_is_thursday_afternoon_in_an_even_week():
    start, end = selectors.next_lots_slot(THURSDAY_MORNING)
    assert (start, end) == (at(dt.date(2026, 11, 26), 14), at(dt.date(2026, 11, 26), 16))
    assert start.isocalendar().week % 2 == 0


def test_next_lots_slot_skips_odd_weeks_and_passed_meetings():
    after_the_meeting = at(dt.date(2026, 11, 26), 15)
    start, _end = selectors.next_lots_slot(after_the_meeting)
    assert start == at(dt.date(2026, 12, 10), 14)  # week 49 is odd: two weeks on
    monday_odd_week = at(dt.date(2026, 11, 30), 9)
    assert selectors.next_lots_slot(monday_odd_week)[0] == at(dt.date(2026, 12, 10), 14)


def test_next_lots_slot_skips_thursdays_that_are_days_off():
    """Julafton 2026 and Kristi himmelsfärdsdag (always a Thursday) are no meeting days."""
    before_christmas = at(dt.date(2026, 12, 11), 9)  # next even-week Thursday: 24 December
    assert selectors.next_lots_slot(before_christmas)[0] == at(dt.date(2027, 1, 14), 14)
    before_ascension = at(dt.date(2027, 5, 1), 9)  # 6 May 2027, week 18
    assert selectors.next_lots_slot(before_ascension)[0] == at(dt.date(2027, 5, 20), 14)


def test_next_lots_slot_skips_taken_slots():
    taken = {at(dt.date(2026, 11, 26), 14)}
    assert selectors.next_lots_slot(THURSDAY_MORNING, taken=taken)[0] == at(
        dt.date(2026, 12, 10), 14
    )


# --- booking a company lots meeting -------------------------------------------------------


def test_units_proposed_from_areas_owners_consulted_units_and_case_departments(world):
    proposed = selectors.proposed_units_for_case(world.case)
    assert [unit.name for unit in proposed] == ["Bygglov", "Miljö och hälsa", "Räddningstjänsten"]


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_helhetsansvarig_books_meeting_invites_units_and_company_with_calendar_file(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(world)

    assert meeting.kind == LotsMeeting.Kind.COMPANY and meeting.status == "planned"
    assert set(meeting.invitations.values_list("department__slug", flat=True)) == {
        "bygglov",
        "miljo",
        "raddning",
    }
    event = world.case.events.get(kind=CaseEvent.Kind.MEETING_BOOKED)
    assert event.is_public and event.data["meeting_id"] == meeting.pk
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == sorted(
        ["bygglov@norrtalje.se", "miljo@norrtalje.se", "raddning@norrtalje.se"]
        + [world.case.contact_email]
    )
    for message in mail.outbox:
        (filename, content, mimetype) = message.attachments[0]
        assert filename == "lotsmote.ics" and mimetype == "text/calendar"
        assert f"UID:{meeting.uid}\r\n" in content
        assert "DTSTART:20261210T130000Z\r\n" in content  # 14:00 Stockholm in winter
    company_mail = next(m for m in mail.outbox if m.to == [world.case.contact_email])
    assert "/arende/" in company_mail.body


def test_officer_who_cannot_act_on_the_case_cannot_book(world):
    with pytest.raises(PermissionDenied):
        book(world, actor=world.outsider)
    with pytest.raises(PermissionDenied):
        book(world, actor=world.miljo_officer)  # a contributing unit, not the owner
    assert not LotsMeeting.objects.exists()
    assert not OutgoingEmail.objects.exists()


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_booking_in_the_past_or_without_place_is_refused_at_the_field(world):
    with pytest.raises(ValidationError) as error:
        book(world, starts_at=at(dt.date(2026, 11, 20), 14))
    assert "starts_at" in error.value.error_dict
    with pytest.raises(ValidationError) as error:
        book(world, place="", video_link="")
    assert "place" in error.value.error_dict
    assert not LotsMeeting.objects.exists()


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_booking_page_proposes_next_slot_and_units_and_shows_errors_in_swedish(world, client):
    client.force_login(world.owner)
    url = reverse("meetings:book_for_case", args=[world.case.reference])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["date"] == dt.date(2026, 11, 26)
    assert form.initial["start_time"] == dt.time(14, 0)
    assert set(form.initial["departments"]) == {world.bygg.pk, world.miljo.pk, world.raddning.pk}

    response = client.post(
        url,
        {"date": "2026-11-20", "start_time": "14:00", "end_time": "13:00", "place": ""},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Mötet måste sluta efter att det börjar." in errors["end_time"]
    assert "Ange en plats eller en länk till videomötet." in errors["place"]
    assert "Bjud in minst en enhet." in errors["departments"]
    assert not LotsMeeting.objects.exists()

    response = client.post(
        url,
        {
            "date": "2026-11-20",
            "start_time": "14:00",
            "end_time": "16:00",
            "place": "Kommunhuset",
            "departments": [world.bygg.pk],
        },
    )
    assert "Mötet måste ligga framåt i tiden." in response.context["form"].errors["date"]


def test_booking_page_is_404_for_a_case_one_cannot_see_and_403_for_contributors(world, client):
    stranger = officer(DepartmentFactory(slug="annan"))
    client.force_login(stranger)
    url = reverse("meetings:book_for_case", args=[world.case.reference])
    assert client.get(url).status_code == 404
    client.force_login(world.miljo_officer)
    assert client.get(url).status_code == 403


# --- iCalendar -------------------------------------------------------------------------------


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_calendar_file_is_valid_icalendar(world):
    meeting = book(world, video_link="https://meet.example.se/lots?id=1,2")
    text = meeting_ics(meeting)
    lines = text.split("\r\n")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    for required in ("VERSION:2.0", "METHOD:REQUEST", "BEGIN:VEVENT", "SEQUENCE:0"):
        assert required in lines
    assert "DTSTAMP:20261126T090000Z" in lines
    assert "DTEND:20261210T150000Z" in lines
    unfolded = text.replace("\r\n ", "")
    assert "LOCATION:Kommunhuset\\, Estrid Ericsons väg 4\\; rum Lotsen" in unfolded
    assert all(len(line.encode()) <= 75 for line in lines)


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_ics_escapes_text_and_folds_long_utf8_lines(world):
    place = "Kommunhuset, rum; " + "å" * 100
    meeting = book(world, place=place)
    text = meeting_ics(meeting)
    lines = text.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "LOCATION:Kommunhuset\\, rum\\; " + "å" * 100 in text.replace("\r\n ", "")
    event = Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == place


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_cancelling_sends_a_calendar_cancellation(world, django_capture_on_commit_callbacks):
    meeting = book(world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_cancel(meeting_id=meeting.pk, actor=world.owner, reason="Sjukdom")
    meeting.refresh_from_db()
    assert meeting.status == "cancelled"
    assert mail.outbox
    content = mail.outbox[0].attachments[0][1]
    assert "METHOD:CANCEL" in content and "SEQUENCE:1" in content
    assert world.case.events.filter(kind=CaseEvent.Kind.MEETING_CANCELLED).exists()


# --- units name who attends ------------------------------------------------------------------


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_invited_unit_names_its_attendees_who_get_the_invitation(
    world, django_capture_on_commit_callbacks
):
    meeting = book(world)
    invitation = meeting.invitations.get(department=world.miljo)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_set_attendees(
            invitation_id=invitation.pk,
            actor=world.miljo_officer,
            attendee_ids=[world.miljo_officer.pk],
        )
    assert list(invitation.attendees.all()) == [world.miljo_officer]
    assert [m.to for m in mail.outbox] == [[world.miljo_officer.email]]
    assert mail.outbox[0].attachments[0][0] == "lotsmote.ics"


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_a_unit_cannot_name_attendees_for_another_unit_or_non_members(world):
    meeting = book(world)
    invitation = meeting.invitations.get(department=world.miljo)
    with pytest.raises(PermissionDenied):
        services.invitation_set_attendees(
            invitation_id=invitation.pk,
            actor=world.raddning_officer,
            attendee_ids=[world.raddning_officer.pk],
        )
    with pytest.raises(ValidationError):
        services.invitation_set_attendees(
            invitation_id=invitation.pk,
            actor=world.miljo_officer,
            attendee_ids=[world.raddning_officer.pk],
        )
    assert not invitation.attendees.exists()


# --- minutes and actions ---------------------------------------------------------------------


def held_meeting_with_actions(world):
    with time_machine.travel(THURSDAY_MORNING, tick=False):
        meeting = book(world)
    with time_machine.travel(at(dt.date(2026, 12, 10), 16, 30), tick=False):
        first = services.action_item_add(
            meeting_id=meeting.pk,
            actor=world.owner,
            title="Granska ritningarna för köket",
            owner_id=world.miljo_officer.pk,
            department_id=world.miljo.pk,
            due_on=dt.date(2026, 12, 17),
            description="Intern: kolla tidigare anmärkningar på fastigheten",
        )
        second = services.action_item_add(
            meeting_id=meeting.pk,
            actor=world.owner,
            title="Besked om bygglovets omfattning",
            owner_id=world.owner.pk,
            department_id=world.bygg.pk,
            due_on=dt.date(2026, 12, 15),
        )
        services.meeting_record_minutes(
            meeting_id=meeting.pk,
            actor=world.owner,
            minutes="Företaget presenterade planerna för restaurangen.",
            decisions="Bygglov söks före livsmedelsregistrering.",
            internal_notes="HEMLIGT: grannen har klagat tidigare",
            attended_department_ids=[world.bygg.pk, world.miljo.pk],
            publish=True,
        )
    return meeting, first, second


def test_minutes_mark_the_meeting_held_record_attendance_and_a_public_event(world):
    meeting, _first, _second = held_meeting_with_actions(world)
    meeting.refresh_from_db()
    assert meeting.status == "held" and meeting.minutes_published_at is not None
    attended = dict(meeting.invitations.values_list("department__slug", "attended"))
    assert attended == {"bygglov": True, "miljo": True, "raddning": False}
    minutes_event = world.case.events.get(kind=CaseEvent.Kind.MEETING_MINUTES)
    assert minutes_event.is_public
    action_events = world.case.events.filter(kind=CaseEvent.Kind.ACTION_ITEM_ADDED)
    assert action_events.count() == 2
    assert not action_events.filter(is_public=True).exists()


def test_minutes_e_mail_to_the_company_lists_actions_but_no_internal_notes(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        held_meeting_with_actions(world)
    to_company = [
        m
        for m in mail.outbox
        if m.to == [world.case.contact_email] and m.subject.startswith("Minnesanteckningar")
    ]
    assert len(to_company) == 1
    body = to_company[0].body
    assert "Företaget presenterade planerna" in body
    assert "Miljö och hälsa: Granska ritningarna för köket" in body
    assert "HEMLIGT" not in body and "Intern:" not in body


def test_minutes_cannot_be_written_before_the_meeting(world):
    with time_machine.travel(THURSDAY_MORNING, tick=False):
        meeting = book(world)
        with pytest.raises(ValidationError):
            services.meeting_record_minutes(
                meeting_id=meeting.pk, actor=world.owner, minutes="För tidigt"
            )


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_action_owner_must_belong_to_the_unit_and_due_date_not_passed(world):
    meeting = book(world)
    with pytest.raises(ValidationError) as error:
        services.action_item_add(
            meeting_id=meeting.pk,
            actor=world.owner,
            title="Något",
            owner_id=world.raddning_officer.pk,
            department_id=world.miljo.pk,
            due_on=dt.date(2026, 11, 20),
        )
    assert set(error.value.error_dict) == {"owner", "due_on"}
    with pytest.raises(PermissionDenied):
        services.action_item_add(
            meeting_id=meeting.pk,
            actor=world.miljo_officer,
            title="Något",
            owner_id=world.miljo_officer.pk,
            department_id=world.miljo.pk,
            due_on=dt.date(2026, 12, 20),
        )
    assert not ActionItem.objects.exists()


def test_open_action_items_reach_the_owners_work_list_soonest_first(
    world, django_assert_max_num_queries
):
    _meeting, first, second = held_meeting_with_actions(world)
    extra = services.action_item_add(
        meeting_id=first.meeting_id,
        actor=world.coordinator,
        title="Ta fram checklista",
        owner_id=world.owner.pk,
        department_id=world.bygg.pk,
        due_on=dt.date(2027, 1, 8),
    )
    with django_assert_max_num_queries(1):
        items = selectors.open_action_items_for_user(world.owner)
    assert items == [second, extra]
    assert items[0].get_absolute_url().endswith(f"#action-{second.pk}")
    assert selectors.open_action_items_for_user(world.miljo_officer) == [first]


def test_only_the_owner_or_the_meetings_managers_mark_an_action_done(world):
    _meeting, first, _second = held_meeting_with_actions(world)
    with pytest.raises(PermissionDenied):
        services.action_item_complete(action_item_id=first.pk, actor=world.raddning_officer)
    services.action_item_complete(action_item_id=first.pk, actor=world.miljo_officer)
    first.refresh_from_db()
    assert first.is_done and first.done_by == world.miljo_officer
    assert selectors.open_action_items_for_user(world.miljo_officer) == []
    done_event = world.case.events.get(kind=CaseEvent.Kind.ACTION_ITEM_DONE)
    assert not done_event.is_public


def test_meeting_page_shows_done_open_and_overdue_actions(world, client):
    meeting, first, second = held_meeting_with_actions(world)
    services.action_item_complete(action_item_id=first.pk, actor=world.miljo_officer)
    with time_machine.travel(at(dt.date(2026, 12, 16), 9), tick=False):
        client.force_login(world.coordinator)
        page = client.get(meeting.get_absolute_url())
    assert page.status_code == 200
    assert page.context["actions_done"] == 1
    assert page.context["actions_overdue"] == 1  # second was due on 15 December
    html = page.content.decode()
    assert "Försenad" in html and "Klar" in html


def test_action_owner_marks_done_from_the_meeting_page(world, client):
    meeting, first, _second = held_meeting_with_actions(world)
    client.force_login(world.miljo_officer)
    response = client.post(reverse("meetings:complete_action", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.is_done
    client.force_login(world.raddning_officer)
    _m, _f, second = meeting, first, ActionItem.objects.exclude(pk=first.pk).get()
    assert client.post(reverse("meetings:complete_action", args=[second.pk])).status_code == 403


# --- the company's tracking page --------------------------------------------------------------


def test_tracking_page_shows_published_minutes_and_actions_never_internal_notes(world, client):
    held_meeting_with_actions(world)
    follower = world.case.followers.get()
    page = client.get(reverse("cases_public:tracking", args=[follower.token]))
    html = page.content.decode()
    assert "Företaget presenterade planerna för restaurangen." in html
    assert "Bygglov söks före livsmedelsregistrering." in html
    assert "Granska ritningarna för köket" in html and "Miljö och hälsa" in html
    assert "HEMLIGT" not in html
    assert "Intern: kolla" not in html
    assert world.miljo_officer.username not in html


@time_machine.travel(THURSDAY_MORNING, tick=False)
def test_unpublished_minutes_stay_internal(world, client):
    meeting = book(world)
    with time_machine.travel(at(dt.date(2026, 12, 10), 17), tick=False):
        services.meeting_record_minutes(
            meeting_id=meeting.pk, actor=world.owner, minutes="Utkast som inte är klart"
        )
        follower = world.case.followers.get()
        html = client.get(reverse("cases_public:tracking", args=[follower.token])).content
    assert "Utkast som inte är klart" not in html.decode()
    assert not world.case.events.filter(kind=CaseEvent.Kind.MEETING_MINUTES).exists()


# --- reminders -------------------------------------------------------------------------------


def _action_reminders(kind=None):
    qs = Reminder.objects.filter(kind__startswith="action_item")
    return qs.filter(kind=kind) if kind else qs


def test_overdue_action_is_reminded_once_not_twice(world, django_capture_on_commit_callbacks):
    _meeting, first, second = held_meeting_with_actions(world)
    mail.outbox.clear()
    day_after_due = at(dt.date(2026, 12, 16), 7)  # second was due 15 December
    with django_capture_on_commit_callbacks(execute=True):
        reminder_sweep(now=day_after_due)
    with django_capture_on_commit_callbacks(execute=True):
        reminder_sweep(now=day_after_due + dt.timedelta(hours=1))
    overdue = [m for m in mail.outbox if "är försenad" in m.subject]
    assert [m.to for m in overdue] == [[world.owner.email]]
    assert "Besked om bygglovets omfattning" in overdue[0].body
    assert f"#action-{second.pk}" in overdue[0].body
    assert _action_reminders(OVERDUE).count() == 1
    assert (
        world.case.events.filter(kind=CaseEvent.Kind.REMINDER_SENT, data__reminder=OVERDUE).count()
        == 1
    )


def test_action_due_tomorrow_is_reminded_beforehand(world):
    _meeting, first, _second = held_meeting_with_actions(world)
    reminder_sweep(now=at(dt.date(2026, 12, 16), 7))  # first is due 17 December
    due_soon = _action_reminders(DUE_SOON).get()
    assert due_soon.recipient == world.miljo_officer


def test_long_overdue_action_is_escalated_once_to_the_units_lead(world):
    _meeting, first, second = held_meeting_with_actions(world)
    services.action_item_complete(action_item_id=second.pk, actor=world.owner)
    # first was due Thursday 17 December; three working days later is 22 December.
    reminder_sweep(now=at(dt.date(2026, 12, 18), 7))
    assert not _action_reminders(ESCALATED).exists()
    reminder_sweep(now=at(dt.date(2026, 12, 23), 7))
    reminder_sweep(now=at(dt.date(2026, 12, 28), 7))
    escalation = _action_reminders(ESCALATED).get()
    assert escalation.recipient == world.miljo_lead
    assert _action_reminders(OVERDUE).get().recipient == world.miljo_officer
    assert OutgoingEmail.objects.filter(to=world.miljo_lead.email).count() == 1


def test_done_actions_are_not_reminded(world):
    _meeting, first, second = held_meeting_with_actions(world)
    for item in (first, second):
        services.action_item_complete(action_item_id=item.pk, actor=world.coordinator)
    reminder_sweep(now=at(dt.date(2027, 1, 20), 7))
    assert not _action_reminders().exists()


# --- samverkansmöte --------------------------------------------------------------------------


def test_agenda_is_proposed_from_stalling_cases_and_unowned_areas(world):
    today = dt.date(2026, 11, 26)
    bouncing = CaseFactory(owning_department=world.bygg, owner=world.owner, transfer_count=2)
    unowned = CaseFactory(owning_department=world.bygg, owner=None)
    overdue_multi = CaseFactory(
        owning_department=world.bygg, owner=world.owner, due_at=dt.date(2026, 11, 1)
    )
    CaseDepartment.objects.create(case=overdue_multi, department=world.miljo)
    overdue_single = CaseFactory(
        owning_department=world.bygg, owner=world.owner, due_at=dt.date(2026, 11, 1)
    )
    waiting = CaseFactory(owning_department=world.bygg, owner=world.owner)
    CaseDepartment.objects.create(
        case=waiting,
        department=world.miljo,
        requested_at=dt.datetime(2026, 11, 20, tzinfo=STHLM),
        due_on=dt.date(2026, 11, 24),
    )
    orphan_unit = DepartmentFactory(slug="tom-enhet", name="Tom enhet")
    AreaFactory(slug="drönare", name="Drönare", owner=orphan_unit)

    proposals = {p.key: p for p in selectors.agenda_proposals(today)}
    assert f"case:{bouncing.pk}" in proposals
    assert f"case:{unowned.pk}" in proposals
    assert f"case:{overdue_multi.pk}" in proposals
    assert f"case:{overdue_single.pk}" not in proposals
    assert f"case:{waiting.pk}" in proposals
    assert any("Drönare" in p.title for p in proposals.values())


def test_coordinator_books_samverkansmote_with_proposed_agenda(world, client):
    unowned = CaseFactory(owning_department=world.bygg, owner=None, subject="Vem tar denna?")
    client.force_login(world.coordinator)
    with time_machine.travel(THURSDAY_MORNING, tick=False):
        page = client.get(reverse("meetings:book_internal"))
        assert page.context["form"].initial["start_time"] == dt.time(14, 0)
        response = client.post(
            reverse("meetings:book_internal"),
            {
                "date": "2026-12-10",
                "start_time": "14:00",
                "end_time": "16:00",
                "place": "Kommunhuset",
                "departments": [world.bygg.pk, world.miljo.pk],
                "agenda": [f"case:{unowned.pk}"],
            },
        )
    meeting = LotsMeeting.objects.get(kind="internal")
    assert response.status_code == 302 and response.url == meeting.get_absolute_url()
    agenda = list(meeting.agenda_items.all())
    assert [item.case for item in agenda] == [unowned]
    assert "saknar helhetsansvarig" in agenda[0].note


def test_samverkansmote_action_is_linked_to_a_case_on_its_agenda(world, client):
    unowned = CaseFactory(owning_department=world.bygg, owner=None, subject="Vem tar denna?")
    other = CaseFactory(owning_department=world.bygg, owner=world.owner)
    with time_machine.travel(THURSDAY_MORNING, tick=False):
        meeting = services.meeting_book_internal(
            actor=world.coordinator,
            starts_at=at(dt.date(2026, 12, 10), 14),
            ends_at=at(dt.date(2026, 12, 10), 16),
            department_ids=[world.bygg.pk, world.miljo.pk],
            agenda_keys=[f"case:{unowned.pk}"],
            place="Kommunhuset",
        )
        client.force_login(world.coordinator)
        page = client.get(meeting.get_absolute_url())
        assert "case" in page.context["action_form"].fields
        response = client.post(
            reverse("meetings:add_action", args=[meeting.pk]),
            {
                "title": "Utse helhetsansvarig",
                "department": world.bygg.pk,
                "owner": world.owner.pk,
                "due_on": "2026-12-01",
                "case": unowned.pk,
            },
        )
    assert response.status_code == 302
    item = ActionItem.objects.get()
    assert item.case == unowned
    assert unowned.events.filter(kind=CaseEvent.Kind.ACTION_ITEM_ADDED).exists()
    with time_machine.travel(THURSDAY_MORNING, tick=False), pytest.raises(ValidationError):
        services.action_item_add(
            meeting_id=meeting.pk,
            actor=world.coordinator,
            title="Fel ärende",
            owner_id=world.owner.pk,
            department_id=world.bygg.pk,
            due_on=dt.date(2026, 12, 1),
            case_id=other.pk,
        )


def test_only_the_coordinator_books_samverkansmoten(world, client):
    client.force_login(world.owner)
    assert client.get(reverse("meetings:book_internal")).status_code == 403


def test_coordinator_sees_units_that_never_attend(world, client):
    held_meeting_with_actions(world)  # Räddningstjänsten invited, did not come
    client.force_login(world.coordinator)
    page = client.get(reverse("meetings:list"))
    stats = {unit.slug: (unit.invited, unit.attended) for unit in page.context["attendance"]}
    assert stats["raddning"] == (1, 0)
    assert stats["miljo"] == (1, 1)
    assert page.context["attendance"][0].slug == "raddning"
    assert "har aldrig deltagit" in page.content.decode()
    client.force_login(world.owner)
    assert client.get(reverse("meetings:list")).context["attendance"] is None


# --- visibility and query counts --------------------------------------------------------------


def test_meeting_pages_are_hidden_from_units_not_involved(world, client):
    meeting, _first, _second = held_meeting_with_actions(world)
    stranger = officer(DepartmentFactory(slug="annan"))
    client.force_login(stranger)
    assert client.get(meeting.get_absolute_url()).status_code == 404
    assert client.get(reverse("meetings:list")).context["past"] == []
    client.force_login(world.raddning_officer)
    assert client.get(meeting.get_absolute_url()).status_code == 200


def _many_meetings(world, n):
    start = at(dt.date(2027, 1, 7), 14)
    for i in range(n):
        meeting = LotsMeeting.objects.create(
            kind="internal",
            title=f"Samverkansmöte {i}",
            starts_at=start + dt.timedelta(days=14 * (i % 3)) - dt.timedelta(days=60 * (i % 2)),
            ends_at=start + dt.timedelta(days=14 * (i % 3), hours=2),
            place="Kommunhuset",
        )
        for unit in (world.bygg, world.miljo):
            MeetingInvitation.objects.create(meeting=meeting, department=unit, attended=True)
        ActionItem.objects.create(
            meeting=meeting,
            title=f"Åtgärd {i}",
            owner=world.miljo_officer,
            department=world.miljo,
            due_on=dt.date(2027, 1, 1),
        )


@pytest.mark.parametrize("n", [5, 50])
def test_meeting_list_queries_do_not_grow(world, client, django_assert_max_num_queries, n):
    _many_meetings(world, n)
    client.force_login(world.coordinator)
    client.get(reverse("meetings:list"))  # warm the session and permission caches
    with django_assert_max_num_queries(10):
        page = client.get(reverse("meetings:list"))
    assert len(page.context["upcoming"]) + len(page.context["past"]) == n


@pytest.mark.parametrize("n", [5, 50])
def test_meeting_detail_queries_do_not_grow(world, client, django_assert_max_num_queries, n):
    with time_machine.travel(THURSDAY_MORNING, tick=False):
        meeting = book(world)
    for i in range(n):
        ActionItem.objects.create(
            meeting=meeting,
            case=world.case,
            title=f"Åtgärd {i}",
            owner=world.miljo_officer if i % 2 else world.owner,
            department=world.miljo if i % 2 else world.bygg,
            due_on=dt.date(2027, 1, 1),
        )
        officer(world.miljo)
    client.force_login(world.owner)
    with django_assert_max_num_queries(20):
        page = client.get(meeting.get_absolute_url())
    assert len(page.context["actions"]) == n


def test_on_a_phone_the_attendance_table_scrolls_in_its_own_region(world, client):
    """At 390 px the attendance table (a unit name with a 'never attended' badge) made the
    whole meeting list scroll sideways; like the other tables it sits in a scroll region."""
    held_meeting_with_actions(world)
    client.force_login(world.coordinator)
    html = client.get(reverse("meetings:list")).content.decode()
    section = html[html.index('id="attendance-heading"') :]
    assert section.index('class="table-responsive"') < section.index("<table")
