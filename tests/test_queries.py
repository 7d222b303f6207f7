"""The workspace's pages issue a fixed number of SQL queries, however many cases, events and
messages there are."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseArea, CaseDepartment, CaseOwnershipPeriod, Message
from cases.services import work
from tests.factories import AreaFactory, CaseFactory, CompanyFactory, DepartmentFactory, officer

pytestmark = pytest.mark.django_db

LIST_PAGE_MAX = 20
CASE_PAGE_MAX = 40


@pytest.fixture
def setup():
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten")
    area = AreaFactory(slug="bygglov", name="Bygglov", owner=bygg)
    return bygg, miljo, area, officer(bygg, "anna"), officer(miljo, "mia")


def fill(n, bygg, miljo, area, anna, mia):
    """n cases of every kind the lists show: own, unowned, asked of anna's unit, offered."""
    today = timezone.localdate()
    for i in range(n):
        company = CompanyFactory()
        own = CaseFactory(owning_department=bygg, owner=anna, company=company, primary_area=area)
        CaseArea.objects.create(case=own, area=area, is_primary=True)
        CaseFactory(owning_department=bygg, owner=None, company=company, needs_triage=i % 2 == 0)
        theirs = CaseFactory(owning_department=miljo, owner=mia, company=company)
        CaseDepartment.objects.create(
            case=theirs,
            department=bygg,
            officer=anna if i % 2 else None,
            question=f"Fråga {i}",
            requested_by=mia,
            requested_at=timezone.now(),
            due_on=today + dt.timedelta(days=i % 7),
        )
        offered = CaseFactory(owning_department=miljo, owner=mia, company=company)
        offered.transfers.create(
            from_department=miljo, to_department=bygg, offered_by=mia, reason="Bygg"
        )


def count_queries(client, url, **params):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(
    "name, params",
    [
        ("home", {}),
        ("queue", {}),
        ("case_list", {}),
        ("case_list", {"q": "Uteservering", "status": "open", "overdue": ""}),
    ],
)
def test_list_pages_issue_the_same_number_of_queries_for_5_and_50_cases(
    client, setup, django_assert_max_num_queries, name, params
):
    bygg, miljo, area, anna, mia = setup
    client.force_login(anna)
    url = reverse(f"staff:{name}")

    fill(5, *setup)
    with django_assert_max_num_queries(LIST_PAGE_MAX):
        client.get(url, params)
    with_5 = count_queries(client, url, **params)

    fill(45, *setup)
    with django_assert_max_num_queries(LIST_PAGE_MAX):
        response = client.get(url, params)
    assert response.status_code == 200
    with_50 = count_queries(client, url, **params)

    assert with_5 == with_50


def test_case_page_queries_do_not_grow_with_events_and_messages(
    client, setup, django_assert_max_num_queries
):
    bygg, miljo, area, anna, mia = setup
    case = CaseFactory(owning_department=bygg, owner=anna, primary_area=area)
    CaseOwnershipPeriod.objects.create(case=case, department=bygg)
    CaseArea.objects.create(case=case, area=area, is_primary=True)
    client.force_login(anna)
    url = reverse("staff:case_detail", args=[case.reference])

    def add_activity(n):
        for i in range(n):
            work.case_add_note(case_id=case.pk, actor=anna, body=f"Anteckning {i}")
            work.case_reply(case_id=case.pk, actor=anna, body=f"Svar {i}")
            Message.objects.create(case=case, kind="from_company", author_name="Kund", body="?")
            request = work.case_request_contribution(
                case_id=case.pk,
                actor=anna,
                department=miljo,
                question=f"Fråga {i}",
                due_on=case.due_at,
            )
            work.case_contribute(part_id=request.part.pk, actor=mia, text=f"Svar {i}")
            CaseFactory(owning_department=bygg, company=case.company)

    add_activity(2)
    with django_assert_max_num_queries(CASE_PAGE_MAX):
        client.get(url)
    few = count_queries(client, url)

    add_activity(20)
    with django_assert_max_num_queries(CASE_PAGE_MAX):
        client.get(url)
    many = count_queries(client, url)

    assert few == many
