"""What the hot paths cost in SQL, pinned: a public submission, and the staff list's filter
form (its dropdowns come from a cache that follows changes to units, areas and people)."""

from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, CaseEvent
from departments.models import Department
from outbox.models import OutgoingEmail
from tests.factories import CaseFactory, DepartmentFactory, officer

pytestmark = pytest.mark.django_db

# On PostgreSQL the rows of a case go in together (cases.bulk.insert_together); elsewhere
# one INSERT per table.
SUBMISSION_MAX = {"postgresql": 10}
SUBMISSION_MAX_ELSEWHERE = 16

QUESTION = {
    "org_number": "556036-0793",
    "company_name": "Roslagens Kafé AB",
    "contact_name": "Maria Lind",
    "email": "maria@roslagenskafe.se",
    "subject": "Uteservering på torget",
    "description": "Vi vill ställa ut bord på torget i sommar. Vad behöver vi söka?",
    "consent": "on",
}


@pytest.fixture(autouse=True)
def _no_timing(settings):
    settings.FORM_MIN_FILL_SECONDS = 0


def submit(client):
    started = client.get(reverse("cases_public:ask")).context["form"].initial["form_started"]
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("cases_public:ask"), {**QUESTION, "form_started": started})
    assert response.status_code == 302
    return queries


def test_a_returning_company_s_question_is_saved_in_at_most_ten_statements(
    client, norrtalje, django_capture_on_commit_callbacks
):
    submit(client)  # the company's first question creates it and warms the routing model
    with django_capture_on_commit_callbacks(execute=True):
        queries = submit(client)
    statements = [q["sql"] for q in queries.captured_queries]
    limit = SUBMISSION_MAX.get(connection.vendor, SUBMISSION_MAX_ELSEWHERE)
    assert len(statements) <= limit, "\n".join(statements)

    case = Case.objects.latest("pk")
    assert case.events.filter(kind=CaseEvent.Kind.CREATED).count() == 1
    # the worker rendered and sent the receipt once, with the private link
    receipt = OutgoingEmail.objects.get(subject_id=case.pk, kind="receipt")
    assert receipt.status == OutgoingEmail.Status.SENT and case.reference in receipt.body
    sent = [m for m in mail.outbox if m.to == [QUESTION["email"]] and case.reference in m.body]
    assert len(sent) == 1
    follower = case.followers.get()
    assert follower.token in sent[0].body


def test_the_receipt_is_rendered_by_the_worker_not_in_the_request(client, norrtalje):
    submit(client)  # no commit callbacks run: nothing handed to the worker yet
    receipt = OutgoingEmail.objects.get(kind="receipt")
    assert receipt.status == OutgoingEmail.Status.PENDING and receipt.body == ""

    from outbox.services import email_send

    assert email_send(email_id=receipt.pk) is True
    assert email_send(email_id=receipt.pk) is False  # never twice
    receipt.refresh_from_db()
    assert "Maria Lind" in receipt.body and receipt.subject
    assert len([m for m in mail.outbox if m.to == [QUESTION["email"]]]) == 1


def test_the_list_filter_form_costs_no_query_and_follows_new_units(client):
    unit = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    anna = officer(unit, "anna")
    CaseFactory(owning_department=unit, owner=anna)
    client.force_login(anna)
    url = reverse("staff:case_list")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"status": "open"})
    tables = ('"departments_department"', '"departments_responsibilityarea"', "memberships")
    assert not any(
        f"FROM {table}" in q["sql"] for q in queries.captured_queries for table in tables
    )
    assert "Bygglovsenheten" in response.content.decode()

    Department.objects.create(slug="miljo", name="Miljöenheten")
    page = client.get(url).content.decode()
    assert "Miljöenheten" in page
    new = Department.objects.get(slug="miljo")
    response = client.get(url, {"unit": new.pk})
    assert response.context["form"].is_valid()


# --- The reminder sweep remembers what it handled ------------------------------------------


def test_a_sweep_with_nothing_new_derives_nothing_and_a_changed_case_is_seen_again(
    django_capture_on_commit_callbacks,
):
    import datetime as dt
    import zoneinfo

    import time_machine

    from cases.models import Reminder, ReminderMark
    from followup import reminders
    from tests.factories import lead

    unit = DepartmentFactory(slug="bygglov", name="Bygglov", email="bygglov@norrtalje.se")
    anna = officer(unit, "anna")
    lead(unit, username="chefen")
    moment = dt.datetime(2026, 12, 2, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Stockholm"))
    received = moment - dt.timedelta(days=30)
    late = [
        CaseFactory(
            owning_department=unit,
            owner=anna,
            status=Case.Status.IN_PROGRESS,
            received_at=received,
            first_answered_at=received,
            first_answer_due=dt.date(2026, 11, 4),
            due_at=dt.date(2026, 11, 20),
        )
        for _ in range(3)
    ]

    def sweep():
        with (
            time_machine.travel(moment, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            ctx_seen = {}
            real = reminders.SweepContext

            class Spy(real):
                def __init__(self, now):
                    super().__init__(now)
                    ctx_seen["ctx"] = self

            with mock.patch.object(reminders.sweep, "SweepContext", Spy):
                report = reminders.reminder_sweep(flush_outbox=False)
        return report, set(ctx_seen["ctx"].derived_ids)

    report, derived = sweep()
    assert report.total >= 3 and derived == {case.pk for case in late}
    assert ReminderMark.objects.count() == 3
    sent = len(mail.outbox)

    report, derived = sweep()  # nothing new: every case skipped, nothing sent
    assert report.total == 0 and derived == set() and len(mail.outbox) == sent

    Case.objects.filter(pk=late[0].pk).update(due_at=dt.date(2026, 11, 23))
    report, derived = sweep()  # a moved deadline: that case alone, and reminded again
    assert derived == {late[0].pk} and report.total >= 1

    Reminder.objects.filter(case=late[1]).delete()  # reminders forgotten: all looked at
    report, derived = sweep()
    assert derived == {case.pk for case in late}
    assert Reminder.objects.filter(case=late[1]).exists()


def test_the_list_still_works_when_the_cache_is_down(client):
    unit = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    anna = officer(unit, "anna")
    client.force_login(anna)
    down = ConnectionError("Redis är nere")
    with (
        mock.patch("cases.choices.cache.get", side_effect=down),
        mock.patch("cases.choices.cache.set", side_effect=down),
        mock.patch("cases.choices.cache.delete", side_effect=down),
    ):
        Department.objects.create(slug="miljo", name="Miljöenheten")  # saving still works
        response = client.get(reverse("staff:case_list"))
    assert response.status_code == 200
    assert "Miljöenheten" in response.content.decode()
