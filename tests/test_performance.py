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
from insights.models import CaseFigures
from insights.summary import summarise_cases
from outbox.models import OutgoingEmail
from tests.factories import CaseFactory, DepartmentFactory, officer

pytestmark = pytest.mark.django_db

# On PostgreSQL: BEGIN, the case id + company + officer (one statement), the reference with the
# case and all its rows and the dashboard's summary row (cases.bulk.insert_together with its
# Fill and what insights registered through write_along), COMMIT. Elsewhere one INSERT per
# table.
SUBMISSION_MAX = {"postgresql": 4}
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


def test_a_returning_company_s_question_is_saved_in_at_most_four_statements(
    client, norrtalje, django_capture_on_commit_callbacks
):
    submit(client)  # the company's first question creates it and warms the routing model
    # A worker asks which model is active once a minute (routing.api.MODEL_CHECK_SECONDS), not
    # per question: keep that check out of this submission whatever time the suite took.
    with (
        mock.patch("routing.api.MODEL_CHECK_SECONDS", 10**9),
        django_capture_on_commit_callbacks(execute=True),
    ):
        queries = submit(client)
    statements = [q["sql"] for q in queries.captured_queries]
    limit = SUBMISSION_MAX.get(connection.vendor, SUBMISSION_MAX_ELSEWHERE)
    assert len(statements) <= limit, "\n".join(statements)

    case = Case.objects.latest("pk")
    assert case.events.filter(kind=CaseEvent.Kind.CREATED).count() == 1
    # the dashboard counts the case at once, with the row its summary derives
    written = list(CaseFigures.objects.filter(pk=case.pk).values())
    assert len(written) == 1 and written[0]["received_ordinal"] is not None
    summarise_cases([case.pk])
    assert list(CaseFigures.objects.filter(pk=case.pk).values()) == written
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


def test_the_officer_proposal_for_a_returning_company_is_one_query(django_assert_num_queries):
    from cases.owners import propose_owner
    from tests.factories import CompanyFactory

    unit = DepartmentFactory()
    earlier, idle = officer(unit, username="earlier"), officer(unit, username="idle")
    company = CompanyFactory()
    CaseFactory(company=company, owning_department=unit, owner=earlier)
    CaseFactory(owning_department=unit, owner=earlier)
    newcomer = CompanyFactory()

    with django_assert_num_queries(1):
        assert propose_owner(unit, company) == earlier
    with django_assert_num_queries(1):
        assert propose_owner(unit, newcomer) == idle


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plan")
def test_a_returning_company_s_officer_s_open_cases_are_not_counted():
    """The company's officer is proposed first whatever their load, and is the one whose open
    cases pile up (a company sticks to its officer): the proposal counts only the others'."""
    import json

    from cases.owners import proposal_sql
    from tests.factories import CompanyFactory

    unit = DepartmentFactory()
    earlier = officer(unit, username="earlier")
    others = [officer(unit, username=f"other{n}") for n in range(2)]
    company = CompanyFactory()
    CaseFactory(company=company, owning_department=unit, owner=earlier)

    def counted(company_id):
        params = [company_id, unit.pk, unit.pk, True, True]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {proposal_sql()}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        nodes, loops = [plan[0]["Plan"]], []
        while nodes:
            node = nodes.pop()
            nodes.extend(node.get("Plans", []))
            if node.get("Subplan Name", "").startswith("SubPlan"):
                loops.append(node["Actual Loops"])  # the count runs once per officer counted
        return sum(loops)

    assert counted(company.pk) == len(others)
    assert counted(CompanyFactory().pk) == len(others) + 1


def test_a_users_permissions_own_and_through_groups_are_read_in_one_query(
    django_assert_num_queries,
):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    user = officer(DepartmentFactory(), username="samordnare")
    group = Group.objects.create(name="Samordnare i test")
    group.permissions.add(Permission.objects.get(codename="manage_all_cases"))
    user.groups.add(group)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard"))

    fresh = get_user_model().objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert fresh.has_perm("cases.manage_all_cases") and fresh.has_perm("cases.view_dashboard")
        assert not fresh.has_perm("cases.view_audit_log")

    user.groups.remove(group)  # a change of roles counts from the next request
    fresh = get_user_model().objects.get(pk=user.pk)
    assert not fresh.has_perm("cases.manage_all_cases") and fresh.has_perm("cases.view_dashboard")
    fresh.is_active = False
    assert not fresh.has_perm("cases.view_dashboard")


def test_the_case_pages_dropdowns_are_one_plain_query_each_and_keep_what_was_chosen(
    django_assert_num_queries,
):
    from cases.forms_staff import AreasForm, AssignForm
    from departments.models import ResponsibilityArea

    unit = DepartmentFactory(name="Bygglovsenheten")
    officer(unit, "anna").__class__.objects.filter(username="anna").update(first_name="<Anna>")
    case = CaseFactory(owning_department=unit)
    form = AssignForm(case=case)
    with django_assert_num_queries(1):  # not a server-side cursor (DECLARE, FETCH, CLOSE)
        html = str(form["assignee"])
    assert "&lt;Anna&gt;" in html and '<option value="">Välj handläggare</option>' in html

    areas = [
        ResponsibilityArea.objects.create(slug=f"omr-{n}", name=f"Område {n}", owner=unit)
        for n in range(3)
    ]
    bound = AreasForm({"others": [areas[0].pk, areas[2].pk]})
    assert not bound.is_valid()  # no primary area: shown again with the choices kept
    html = str(bound["others"])
    assert "multiple" in html and 'size="6"' in html
    assert f'<option value="{areas[0].pk}" selected>' in html
    assert f'<option value="{areas[1].pk}">' in html
    assert f'<option value="{areas[2].pk}" selected>' in html
    chosen = AreasForm({"primary": areas[1].pk})
    assert chosen.is_valid() and list(chosen.cleaned_data["others"]) == []


def test_the_lists_case_links_are_what_reverse_gives_under_any_script_prefix():
    from django.urls import get_script_prefix, set_script_prefix

    from cases.templatetags.staff_tags import staff_case_url

    case = CaseFactory()
    before = get_script_prefix()
    try:
        for prefix in ("/", "/portal/"):
            set_script_prefix(prefix)
            expected = reverse("staff:case_detail", args=[case.reference])
            assert staff_case_url(case) == expected and expected.startswith(prefix)
    finally:
        set_script_prefix(before)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a Fill is PostgreSQL's")
def test_a_reference_drawn_by_sql_reads_as_python_writes_it(settings):
    """The reference drawn in the case's statement is the one `ReferenceCounter.reference`
    writes, also past 99 999 cases in a year; a filled value is escaped inside JSON."""
    from cases.bulk import Fill, insert_together
    from cases.models import ReferenceCounter
    from cases.services.intake import reference_sql

    settings.CASE_REFERENCE_PREFIX = 'F"L\\'
    for last in (0, 41, 99_998, 99_999, 1_234_566):
        ReferenceCounter.objects.update_or_create(year=2031, defaults={"last_number": last})
        fill = Fill(*reference_sql(2031))
        event = CaseEvent(
            case=CaseFactory(), kind=CaseEvent.Kind.CREATED, data={"reference": fill.placeholder}
        )
        drawn = insert_together([[event]], fill=fill)
        assert drawn == ReferenceCounter.reference(2031, last + 1)
        assert event.data == {"reference": drawn}
        event.refresh_from_db()
        assert event.data == {"reference": drawn}
