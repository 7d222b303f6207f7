"""The company's rating after closing (Insikt NKI): invitation, the form, once only."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from cases.models import CaseEvent
from insights.models import Feedback, WorkingDay
from insights.services import answer_index, feedback_invite, grade, nki, passes
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory

ALL_SIX = {
    "nki_overall": "6",
    "nki_expectations": "5",
    "nki_ideal": "4",
    "information": "6",
    "accessibility": "3",
    "treatment": "6",
    "competence": "5",
    "legal_certainty": "5",
    "efficiency": "2",
}


def _close(case, capture):
    """What the close transition does: flag closed and invite, inside one transaction."""
    with capture(execute=True), transaction.atomic():
        case.status = "closed"
        case.closed_at = timezone.now()
        case.save()
        return feedback_invite(case_id=case.pk)


@pytest.fixture
def food_case(db):
    unit = DepartmentFactory(name="Livsmedelsenheten", slug="livsmedel-enhet")
    area = AreaFactory(slug="livsmedel", name="Livsmedel", owner=unit, insikt_area="")
    case = CaseFactory(owning_department=unit, primary_area=area, contact_name="Maria Lind")
    # The area joins Insikt after intake: the case must be tagged as it is when closing.
    area.insikt_area = "livsmedelskontroll"
    area.save()
    return case


def test_closing_mails_the_primary_contact_a_link_valid_60_days(
    food_case, mailoutbox, django_capture_on_commit_callbacks
):
    feedback = _close(food_case, django_capture_on_commit_callbacks)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [food_case.contact_email]
    assert food_case.reference in mail.subject
    link = re.search(r"/omdome/([A-Za-z0-9_\-]+)/", mail.body)
    assert link and link.group(1) == feedback.token
    assert len(feedback.token) >= 43  # 256 bits in base64
    assert feedback.expires_at - feedback.created_at == dt.timedelta(days=60)
    assert "60" not in mail.subject
    food_case.refresh_from_db()
    assert food_case.insikt_area == "livsmedelskontroll"
    assert feedback.insikt_area == "livsmedelskontroll"


def test_no_portal_survey_for_areas_the_official_insikt_survey_covers(
    food_case, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.INSIKT_HOLD_BACK_AREAS = ["livsmedelskontroll"]

    result = _close(food_case, django_capture_on_commit_callbacks)

    assert result is None
    assert mailoutbox == []
    assert not Feedback.objects.exists()
    food_case.refresh_from_db()
    assert food_case.insikt_area == "livsmedelskontroll"  # still tagged for the export


def test_closing_again_while_the_link_is_open_sends_no_second_survey(
    food_case, mailoutbox, django_capture_on_commit_callbacks
):
    _close(food_case, django_capture_on_commit_callbacks)
    _close(food_case, django_capture_on_commit_callbacks)

    assert len(mailoutbox) == 1
    assert Feedback.objects.count() == 1


def test_form_has_nine_questions_as_fieldsets_on_a_one_to_six_scale(
    client, food_case, django_capture_on_commit_callbacks
):
    feedback = _close(food_case, django_capture_on_commit_callbacks)

    response = client.get(f"/omdome/{feedback.token}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<fieldset") == 9
    assert html.count("<legend") == 9
    for word in ("Information", "Tillgänglighet", "Bemötande", "Kompetens", "Rättssäkerhet"):
        assert word in html
    assert 'type="radio" name="nki_overall" id="id_nki_overall_5" value="6"' in html
    assert response["Referrer-Policy"] == "same-origin"


def test_answering_records_the_answers_and_a_public_event_once(
    client, food_case, django_capture_on_commit_callbacks
):
    feedback = _close(food_case, django_capture_on_commit_callbacks)
    url = f"/omdome/{feedback.token}/"

    response = client.post(url, {**ALL_SIX, "comment": "Snabbt och trevligt."})

    assert response.status_code == 302
    feedback.refresh_from_db()
    assert feedback.answered_at is not None
    assert (feedback.nki_overall, feedback.efficiency) == (6, 2)
    assert feedback.comment == "Snabbt och trevligt."
    event = CaseEvent.objects.get(case=food_case, kind=CaseEvent.Kind.FEEDBACK_RECEIVED)
    assert event.is_public

    again = client.post(url, {**ALL_SIX, "nki_overall": "1"})
    assert "Enkäten är besvarad" in again.content.decode()
    feedback.refresh_from_db()
    assert feedback.nki_overall == 6
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.FEEDBACK_RECEIVED).count() == 1


def test_a_missing_answer_is_shown_at_its_question_and_nothing_is_saved(
    client, food_case, django_capture_on_commit_callbacks
):
    feedback = _close(food_case, django_capture_on_commit_callbacks)
    answers = {key: value for key, value in ALL_SIX.items() if key != "treatment"}

    response = client.post(f"/omdome/{feedback.token}/", {**answers, "nki_overall": "7"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 fråga har inget svar." in html
    assert 'href="#id_treatment_0"' in html
    assert 'href="#id_nki_overall_0"' in html  # 7 is off the scale
    assert "Välj ett svar mellan 1 och 6." in html
    feedback.refresh_from_db()
    assert feedback.answered_at is None


def test_one_answer_of_nine_gives_one_summary_line_and_keeps_the_answer(
    client, food_case, django_capture_on_commit_callbacks
):
    feedback = _close(food_case, django_capture_on_commit_callbacks)

    response = client.post(f"/omdome/{feedback.token}/", {"nki_overall": "5"})

    html = response.content.decode()
    summary = html[
        html.index('id="error-summary"') : html.index("</div>", html.index("error-summary"))
    ]
    assert summary.count("<li>") == 1
    assert "8 frågor har inget svar." in summary
    assert 'href="#id_nki_expectations_0"' in summary  # the first unanswered question
    assert html.count("Inte besvarad.") == 8  # each marked at its question, in a word
    assert 'name="nki_overall" id="id_nki_overall_4" value="5" checked' in html
    feedback.refresh_from_db()
    assert feedback.answered_at is None


def test_an_expired_link_says_so_in_swedish(client, food_case, django_capture_on_commit_callbacks):
    feedback = _close(food_case, django_capture_on_commit_callbacks)

    with time_machine.travel(timezone.now() + dt.timedelta(days=61)):
        response = client.get(f"/omdome/{feedback.token}/")
        posted = client.post(f"/omdome/{feedback.token}/", ALL_SIX)

    assert response.status_code == 410
    assert "Länken har gått ut" in response.content.decode()
    assert posted.status_code == 410
    feedback.refresh_from_db()
    assert feedback.answered_at is None


def test_an_unknown_link_is_not_found(client, db):
    assert client.get("/omdome/" + "x" * 43 + "/").status_code == 404
    assert client.get("/omdome/kort/").status_code == 404


@pytest.mark.parametrize(
    ("answer", "index"), [(1, 0.0), (2, 20.0), (4, 60.0), (6, 100.0), (4.1, 62.0)]
)
def test_answer_index_is_linear_on_the_six_point_scale(answer, index):
    assert answer_index(answer) == pytest.approx(index)


def test_nki_is_the_mean_of_the_three_items_indices():
    assert nki([6, 5, 4]) == pytest.approx((100 + 80 + 60) / 3)
    assert nki([6, None, 4]) is None


@pytest.mark.parametrize(
    ("value", "expected", "passing"),
    [
        (81, "mycket högt", True),
        (80, "högt", True),
        (70, "högt", True),
        (62, "godkänt", True),
        (61.4, "lågt", False),
        (50, "lågt", False),
        (49, "mycket lågt", False),
    ],
)
def test_grades_follow_insikt(value, expected, passing):
    assert grade(value) == expected
    assert passes(value) is passing


def test_working_day_calendar_agrees_with_the_deadline_rules(db):
    from cases.deadlines import working_days_between

    days = {row.date: row.ordinal for row in WorkingDay.objects.filter(date__year=2026)}
    pairs = [
        (dt.date(2026, 6, 18), dt.date(2026, 6, 23)),  # over midsommar
        (dt.date(2026, 12, 23), dt.date(2027 - 1, 12, 30)),  # over jul
        (dt.date(2026, 4, 1), dt.date(2026, 4, 8)),  # over påsk
    ]
    for start, end in pairs:
        assert days[end] - days[start] == working_days_between(start, end)


def test_closing_through_the_case_service_sends_the_survey(
    food_case, mailoutbox, django_capture_on_commit_callbacks
):
    from cases.services.work import case_close
    from tests.factories import coordinator

    food_case.status = "in_progress"
    food_case.save()

    with django_capture_on_commit_callbacks(execute=True):
        case_close(case_id=food_case.pk, actor=coordinator(), body="Här är vårt svar.")

    feedback = Feedback.objects.get(case=food_case)
    assert any(f"/omdome/{feedback.token}/" in mail.body for mail in mailoutbox)


def test_the_announcement_heard_twice_invites_once_and_a_reopened_case_not_at_all(food_case):
    food_case.status = "closed"
    food_case.closed_at = timezone.now()
    food_case.save()

    first = feedback_invite(case_id=food_case.pk)
    assert first is not None
    Feedback.objects.filter(pk=first.pk).update(answered_at=timezone.now())  # answered at once
    assert feedback_invite(case_id=food_case.pk) is None
    assert Feedback.objects.filter(case=food_case).count() == 1

    other = CaseFactory(owning_department=food_case.owning_department, status="in_progress")
    assert feedback_invite(case_id=other.pk) is None  # opened again before the announcement
