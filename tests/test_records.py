"""Public records: secrecy marking, release with masking, and the audit log of reads."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases.audit import audit_case_opened
from cases.models import CaseEvent, Message
from records.services import (
    MASKED,
    case_export,
    case_mark_confidential,
    message_mark_confidential,
)
from tests.factories import (
    CaseFactory,
    CompanyFactory,
    DepartmentFactory,
    coordinator,
    lead,
    officer,
)

pytestmark = pytest.mark.django_db

SECRET = "Uppgifter om företagets affärsförhållanden som omfattas av sekretess."


@pytest.fixture
def unit():
    return DepartmentFactory(slug="bygglovsenheten", name="Bygglovsenheten")


@pytest.fixture
def owner(unit):
    return officer(unit, username="agare")


@pytest.fixture
def case(unit, owner):
    case = CaseFactory(
        owning_department=unit,
        owner=owner,
        company=CompanyFactory(org_number="811218-9876", name="Annas Hantverk"),
    )
    Message.objects.create(case=case, kind="from_company", author_name="Maria", body="Hej!")
    Message.objects.create(case=case, kind="internal", author=owner, body="Intern fundering.")
    Message.objects.create(case=case, kind="to_company", author=owner, body=SECRET)
    return case


def secret_message(case):
    return case.messages.get(body=SECRET)


def test_marking_a_message_hides_it_from_the_tracking_page_and_records_why(client, case, owner):
    follower = case.followers.get()
    assert SECRET in client.get(reverse("cases_public:tracking", args=[follower.token])).text

    message_mark_confidential(
        message_id=secret_message(case).pk,
        actor=owner,
        confidential=True,
        reason="OSL 30 kap. 23 §",
    )

    assert SECRET not in client.get(reverse("cases_public:tracking", args=[follower.token])).text
    event = case.events.get(kind=CaseEvent.Kind.CONFIDENTIALITY_CHANGED)
    assert event.actor == owner and event.data["reason"] == "OSL 30 kap. 23 §"
    assert not event.is_public


def test_marking_needs_a_reason_and_the_right_to_act(case, unit):
    with pytest.raises(ValidationError):
        case_mark_confidential(case_id=case.pk, actor=case.owner, confidential=True, reason=" ")
    colleague = officer(unit, username="kollega")  # member, but the case has an owner
    with pytest.raises(PermissionDenied):
        case_mark_confidential(case_id=case.pk, actor=colleague, confidential=True, reason="x")
    case.refresh_from_db()
    assert not case.is_confidential
    assert not case.events.filter(kind=CaseEvent.Kind.CONFIDENTIALITY_CHANGED).exists()


def test_export_masks_secret_content_marks_internal_notes_and_records_the_export(case, owner):
    message_mark_confidential(
        message_id=secret_message(case).pk, actor=owner, confidential=True, reason="OSL"
    )

    export = case_export(case_id=case.pk, actor=owner)

    document = json.loads(export.content)
    assert document["arendenummer"] == case.reference
    bodies = [m["text"] for m in document["meddelanden"]]
    assert SECRET not in export.content.decode() and MASKED in bodies
    internal = [m for m in document["meddelanden"] if m["intern"]]
    assert internal and internal[0]["markering"].startswith("Intern anteckning")
    assert document["foretag"]["organisationsnummer"] == "811218-****"
    assert export.masked == 1
    event = case.events.get(kind=CaseEvent.Kind.EXPORTED)
    assert event.actor == owner and event.data == {
        "format": "json",
        "include_secret": False,
        "masked": 1,
    }
    assert "viewed" not in export.content.decode()


def test_export_with_secret_content_carries_the_mark(case, owner):
    case_mark_confidential(case_id=case.pk, actor=owner, confidential=True, reason="OSL")

    document = json.loads(case_export(case_id=case.pk, actor=owner, include_secret=True).content)

    assert document["arende"]["beskrivning"]["sekretessmarkerad"] is True
    assert document["arende"]["beskrivning"]["text"] == case.description
    secret = [m for m in document["meddelanden"] if m["text"] == SECRET][0]
    assert secret["sekretessmarkerad"] is True
    assert document["sekretessmarkerat_innehall"] == "medtaget"


def test_whole_case_marked_masks_description_and_every_message(case, owner):
    case_mark_confidential(case_id=case.pk, actor=owner, confidential=True, reason="OSL")
    export = case_export(case_id=case.pk, actor=owner)
    text = export.content.decode()
    assert case.description not in text and SECRET not in text and "Intern fundering" not in text


def test_only_who_may_act_can_include_secret_content(case, unit):
    contributor_unit = DepartmentFactory(slug="miljo")
    case.case_departments.create(department=contributor_unit, role="contributor")
    outsider = officer(contributor_unit, username="bidrar")

    case_export(case_id=case.pk, actor=outsider)  # may see the case: masked export allowed
    with pytest.raises(PermissionDenied):
        case_export(case_id=case.pk, actor=outsider, include_secret=True)
    stranger = officer(DepartmentFactory(slug="annan"), username="okand")
    with pytest.raises(PermissionDenied):
        case_export(case_id=case.pk, actor=stranger)


def test_export_view_downloads_json_and_404s_outside_reach(client, case, owner):
    url = reverse("records:case_export", args=[case.reference])
    client.force_login(owner)
    assert client.get(url).status_code == 200

    response = client.post(url, {})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["arendenummer"] == case.reference

    client.force_login(officer(DepartmentFactory(slug="annan"), username="okand"))
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404


def test_confidentiality_views_mark_and_unmark(client, case, owner):
    client.force_login(owner)
    message = secret_message(case)
    url = reverse("records:message_confidential", args=[case.reference, message.pk])

    response = client.post(url, {"confidential": "1", "reason": ""}, follow=True)
    assert "Ange skälet" in response.text
    message.refresh_from_db()
    assert not message.is_confidential

    client.post(url, {"confidential": "1", "reason": "OSL 30:23"})
    message.refresh_from_db()
    assert message.is_confidential
    client.post(url, {"confidential": "0"})
    message.refresh_from_db()
    assert not message.is_confidential

    client.post(
        reverse("records:case_confidential", args=[case.reference]),
        {"confidential": "1", "reason": "OSL"},
    )
    case.refresh_from_db()
    assert case.is_confidential


def test_message_of_another_case_is_404(client, case, owner, unit):
    other = CaseFactory(owning_department=unit, owner=owner)
    message = secret_message(case)
    url = reverse("records:message_confidential", args=[other.reference, message.pk])
    client.force_login(owner)
    assert client.post(url, {"confidential": "1", "reason": "x"}).status_code == 404


def test_opening_a_case_is_audited_once_per_minute_per_person(case, owner, time_machine):
    time_machine.move_to("2026-11-02 09:00:00+01:00")
    first = audit_case_opened(case, owner)
    again = audit_case_opened(case, owner)
    time_machine.move_to("2026-11-02 09:02:00+01:00")
    later = audit_case_opened(case, owner)

    assert first is not None and again is None and later is not None
    assert first.data == {"personal_identity_number_shown": True}
    assert case.events.filter(kind=CaseEvent.Kind.VIEWED, actor=owner).count() == 2


def test_audit_log_is_for_the_coordinator_only(client, case, owner, unit):
    audit_case_opened(case, owner)
    url = reverse("records:case_audit_log", args=[case.reference])

    client.force_login(owner)
    assert client.get(url).status_code == 403
    client.force_login(lead(unit, username="chef"))
    assert client.get(url).status_code == 403
    client.force_login(coordinator())
    response = client.get(url)
    assert response.status_code == 200
    assert "öppnade ärendet" in response.text
    client.logout()
    assert client.get(url).status_code == 302


def test_audit_log_queries_do_not_grow_with_its_entries(client, case, owner, unit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.services.events import record_event

    url = reverse("records:case_audit_log", args=[case.reference])
    client.force_login(coordinator())

    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    record_event(case, CaseEvent.Kind.NOTE_ADDED, actor=owner)
    few = queries_for_page()
    for index in range(30):
        actor = officer(unit, username=f"handlaggare{index}")
        record_event(case, CaseEvent.Kind.NOTE_ADDED, actor=actor)
    assert queries_for_page() == few
