"""The REST API: who sees what, writes recorded as events, errors as problem details."""

import hashlib
import logging

import pytest
from django.test import Client
from django.urls import reverse

from api.models import ApiClient, ExternalReference
from cases.models import Case, CaseArea, CaseEvent, Message
from cases.services.intake import Inquiry, case_create
from outbox.models import OutgoingEmail
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory, UserFactory, officer

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def make_client(department=None, **permissions) -> tuple[ApiClient, str]:
    client = ApiClient(name=f"System {ApiClient.objects.count() + 1}", department=department)
    for name, value in permissions.items():
        setattr(client, name, value)
    token = client.new_token()
    client.save()
    return client, token


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def post_json(http: Client, url: str, data: dict):
    return http.post(url, data, content_type="application/json")


@pytest.fixture
def units():
    return DepartmentFactory(slug="bygglov"), DepartmentFactory(slug="miljo")


# --- Authentication -------------------------------------------------------------------


def test_anonymous_request_gets_401_as_problem_details():
    response = Client().get("/api/v1/cases/")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert body["status"] == 401 and body["title"] and body["type"] == "about:blank"


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_api_endpoint_refuses_anonymous_callers_with_401(method):
    from tests.test_url_protection import all_urls

    endpoints = [url for url, name, _cb in all_urls() if name.startswith("api:") and "/v1/" in url]
    assert len(endpoints) >= 10
    for url in endpoints:
        response = getattr(Client(), method)(url)
        expected = 404 if url == "/api/v1/" else 401
        assert response.status_code == expected, url
        assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize("change", ["wrong", "expired", "inactive"])
def test_a_bad_expired_or_inactive_token_gets_401(units, change):
    from datetime import timedelta

    from django.utils import timezone

    client, token = make_client()
    if change == "wrong":
        token = token[:-4] + "AAAA"
    elif change == "expired":
        client.expires_at = timezone.now() - timedelta(minutes=1)
        client.save()
    else:
        client.is_active = False
        client.save()

    assert api(token).get("/api/v1/cases/").status_code == 401


def admin_form(**fields) -> dict:
    """What the admin's API client page posts, asking for a new token."""
    return {
        "can_read": "on",
        "rate_limit": "600/m",
        "is_active": "on",
        "new_token": "on",
        "subscriptions-TOTAL_FORMS": "0",
        "subscriptions-INITIAL_FORMS": "0",
        **fields,
    }


def test_token_is_shown_once_in_the_admin_and_stored_only_as_a_hash(admin_client, units):
    response = admin_client.post(
        reverse("admin:api_apiclient_add"),
        admin_form(name="Bygglovsystemet", department=units[0].pk),
    )

    assert response.status_code == 200
    token = response.context["token"]
    assert token.startswith("fl_") and len(token) > 40
    assert token in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    client = ApiClient.objects.get(name="Bygglovsystemet")
    assert client.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(value) for value in ApiClient.objects.values_list().get(pk=client.pk)]
    assert token not in stored
    # Shown once: the client's page afterwards has only the selector.
    page = admin_client.get(reverse("admin:api_apiclient_change", args=[client.pk]))
    assert token not in page.content.decode()
    assert client.token_selector in page.content.decode()
    # And the token works.
    assert api(token).get("/api/v1/cases/").status_code == 200
    assert ApiClient.objects.get(pk=client.pk).last_used_at is not None


def test_a_new_token_replaces_the_old_one(admin_client, units):
    client, old = make_client()
    response = admin_client.post(
        reverse("admin:api_apiclient_change", args=[client.pk]), admin_form(name=client.name)
    )

    new = response.context["token"]
    assert api(old).get("/api/v1/cases/").status_code == 401
    assert api(new).get("/api/v1/cases/").status_code == 200


# --- Visibility -------------------------------------------------------------------------


def test_unit_scoped_client_cannot_read_another_units_case(units):
    bygglov, miljo = units
    mine = CaseFactory(owning_department=bygglov)
    theirs = CaseFactory(owning_department=miljo)
    _client, token = make_client(department=bygglov, can_write_messages=True)
    http = api(token)

    assert http.get(f"/api/v1/cases/{mine.pk}/").status_code == 200
    for url in ("", "timeline/", "messages/", "external-references/"):
        response = http.get(f"/api/v1/cases/{theirs.pk}/{url}")
        assert response.status_code == 404, url
        assert response["Content-Type"] == PROBLEM
    refused = post_json(
        http, f"/api/v1/cases/{theirs.pk}/messages/", {"direction": "to_company", "body": "Hej"}
    )
    assert refused.status_code == 404
    listed = [row["reference"] for row in http.get("/api/v1/cases/").json()["results"]]
    assert listed == [mine.reference]
    assert not Message.objects.filter(case=theirs).exists()


def test_unit_sees_a_case_it_was_asked_to_contribute_to_as_on_the_web(units):
    from cases.models import CaseDepartment

    bygglov, miljo = units
    case = CaseFactory(owning_department=miljo)
    CaseDepartment.objects.create(case=case, department=bygglov)
    _client, token = make_client(department=bygglov)

    assert api(token).get(f"/api/v1/cases/{case.pk}/").status_code == 200


def test_client_without_unit_sees_all_cases(units):
    for unit in units:
        CaseFactory(owning_department=unit)
    _client, token = make_client()

    assert len(api(token).get("/api/v1/cases/").json()["results"]) == 2


def test_list_filters_by_unit_status_and_changed_since(units):
    bygglov, miljo = units
    open_case = CaseFactory(owning_department=bygglov)
    CaseFactory(owning_department=miljo)
    _client, token = make_client()
    http = api(token)

    def refs(query):
        response = http.get(f"/api/v1/cases/?{query}")
        assert response.status_code == 200, response.content
        return [row["reference"] for row in response.json()["results"]]

    assert refs("unit=bygglov") == [open_case.reference]
    assert refs("status=closed") == []
    assert len(refs("changed_since=2000-01-01T00:00:00Z")) == 2
    assert refs("changed_since=2999-01-01T00:00:00Z") == []
    bad = http.get("/api/v1/cases/?status=nonsense")
    assert bad.status_code == 400 and "status" in bad.json()["errors"]


def test_a_client_needs_the_permission_for_each_kind_of_write(units):
    case = CaseFactory(owning_department=units[0])
    _client, token = make_client()  # read only
    http = api(token)

    assert (
        post_json(
            http, f"/api/v1/cases/{case.pk}/messages/", {"direction": "to_company", "body": "x"}
        ).status_code
        == 403
    )
    assert (
        post_json(
            http, f"/api/v1/cases/{case.pk}/external-references/", {"system": "B", "reference": "1"}
        ).status_code
        == 403
    )
    assert post_json(http, "/api/v1/cases/", {}).status_code == 403


# --- Writes -----------------------------------------------------------------------------


def test_inquiry_created_through_the_api_is_routed_like_the_form(norrtalje):
    text = {
        "subject": "Serveringstillstånd för vår restaurang",
        "description": "Vi vill börja servera vin och öl till maten. Hur söker vi "
        "stadigvarande serveringstillstånd?",
    }
    form_case, _follower = case_create(
        inquiry=Inquiry(company_name="Kafé AB", contact_name="Maria", email="m@kafe.se", **text)
    )
    client, token = make_client(can_create_inquiries=True)

    response = post_json(
        api(token),
        "/api/v1/cases/",
        {
            "channel": "phone",
            "org_number": "5560360793",
            "company_name": "Roslagens Kafé AB",
            "contact_name": "Maria Lind",
            "email": "maria@roslagenskafe.se",
            **text,
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(pk=body["id"])
    assert case.owning_department == form_case.owning_department
    assert body["areas"] == [a.area.slug for a in form_case.case_areas.all()]
    assert case.channel == "phone" and case.company.org_number == "556036-0793"
    assert case.followers.get().email == "maria@roslagenskafe.se"
    created = case.events.get(kind=CaseEvent.Kind.CREATED)
    assert created.data["via"] == {"api_client": client.name, "api_client_id": client.pk}
    assert OutgoingEmail.objects.filter(subject_id=case.pk, kind="receipt").exists()


def test_invalid_inquiry_is_refused_field_by_field_and_saves_nothing():
    _client, token = make_client(can_create_inquiries=True)

    response = post_json(
        api(token), "/api/v1/cases/", {"channel": "fax", "org_number": "123", "phone": "abc"}
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    errors = response.json()["errors"]
    assert {"channel", "org_number", "subject", "email", "phone"} <= set(errors)
    assert not Case.objects.exists()


def test_message_to_the_company_is_recorded_naming_the_client(units):
    case = CaseFactory(owning_department=units[0])
    client, token = make_client(department=units[0], can_write_messages=True)

    response = post_json(
        api(token),
        f"/api/v1/cases/{case.pk}/messages/",
        {"direction": "to_company", "body": "Bygglovet är beviljat.", "author_name": "Eva"},
    )

    assert response.status_code == 201, response.content
    case.refresh_from_db()
    assert case.status == "in_progress" and case.first_answered_at is not None
    event = case.events.get(kind=CaseEvent.Kind.REPLIED)
    assert event.data["via"]["api_client"] == client.name
    assert OutgoingEmail.objects.filter(subject_id=case.pk, kind="reply").exists()
    timeline = api(token).get(f"/api/v1/cases/{case.pk}/timeline/").json()
    assert [e["message"]["body"] for e in timeline if e["type"] == "message"] == [
        "Bygglovet är beviljat."
    ]


def test_only_the_owning_units_client_answers_the_company(units):
    bygglov, miljo = units
    case = CaseFactory(owning_department=miljo)
    from cases.models import CaseDepartment

    CaseDepartment.objects.create(case=case, department=bygglov)
    _client, token = make_client(department=bygglov, can_write_messages=True)

    response = post_json(
        api(token), f"/api/v1/cases/{case.pk}/messages/", {"direction": "to_company", "body": "x"}
    )

    assert response.status_code == 403
    assert not case.messages.exists()


def test_message_from_the_company_channel_resumes_a_waiting_case(units):
    case = CaseFactory(owning_department=units[0], status="waiting_for_company")
    _client, token = make_client(can_write_messages=True)

    response = post_json(
        api(token),
        f"/api/v1/cases/{case.pk}/messages/",
        {"direction": "from_company", "body": "Ritningen kommer på fredag."},
    )

    assert response.status_code == 201
    case.refresh_from_db()
    assert case.status == "in_progress"
    assert case.messages.get().kind == Message.Kind.FROM_COMPANY


def test_closed_case_refuses_a_reply_as_problem_details(units):
    from django.utils import timezone

    case = CaseFactory(owning_department=units[0], status="closed", closed_at=timezone.now())
    _client, token = make_client(can_write_messages=True)

    response = post_json(
        api(token), f"/api/v1/cases/{case.pk}/messages/", {"direction": "to_company", "body": "x"}
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_external_reference_is_set_read_and_shown_on_the_staff_case_page(units):
    case = CaseFactory(owning_department=units[0])
    client, token = make_client(can_set_external_references=True)
    http = api(token)
    url = f"/api/v1/cases/{case.pk}/external-references/"
    data = {"system": "Bygglov", "reference": "BYGG 2026-123", "url": "https://bygglov.example/1"}

    assert post_json(http, url, data).status_code == 201
    assert post_json(http, url, {**data, "reference": "BYGG 2026-124"}).status_code == 200
    assert [r["reference"] for r in http.get(url).json()] == ["BYGG 2026-124"]
    assert ExternalReference.objects.get().set_by == client
    assert (
        case.events.filter(
            kind=CaseEvent.Kind.EXTERNAL_REFERENCE_SET, data__via__api_client=client.name
        ).count()
        == 2
    )

    staff = Client()
    staff.force_login(officer(units[0]))
    page = staff.get(reverse("staff:case_detail", args=[case.reference])).content.decode()
    assert "BYGG 2026-124" in page and "https://bygglov.example/1" in page
    assert "API-klienten" in page


def test_events_follow_every_change_in_order_after_a_cursor(units):
    case = CaseFactory(owning_department=units[0])
    first = CaseEvent.objects.create(case=case, kind="created")
    CaseEvent.objects.create(case=case, kind="viewed")
    second = CaseEvent.objects.create(case=case, kind="closed")
    _client, token = make_client()

    rows = api(token).get(f"/api/v1/events/?after={first.pk}").json()["results"]

    assert [row["id"] for row in rows] == [second.pk]
    all_rows = api(token).get("/api/v1/events/").json()["results"]
    assert [row["kind"] for row in all_rows] == ["created", "closed"]


# --- Limits, logs, query counts -----------------------------------------------------------


def test_rate_limit_per_client_answers_429_with_retry_after(units):
    client, token = make_client()
    client.rate_limit = "2/m"
    client.save()
    _other, other_token = make_client()
    http = api(token)

    assert [http.get("/api/v1/units/").status_code for _ in range(2)] == [200, 200]
    limited = http.get("/api/v1/units/")

    assert limited.status_code == 429
    assert limited["Content-Type"] == PROBLEM
    assert 0 < int(limited["Retry-After"]) <= 60
    assert api(other_token).get("/api/v1/units/").status_code == 200


def test_request_log_has_no_token_or_personal_data(units, caplog):
    case = CaseFactory(owning_department=units[0], contact_name="Maria Lind")
    _client, token = make_client()

    with caplog.at_level(logging.INFO, logger="api.requests"):
        api(token).get(f"/api/v1/cases/{case.pk}/?x=maria@example.se")

    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "api.requests")
    assert "status=200" in logged
    assert token not in logged and token[:12] not in logged
    assert "Maria" not in logged and "maria@" not in logged


@pytest.mark.parametrize("url", ["/api/v1/cases/", "/api/v1/events/"])
def test_list_query_count_does_not_grow_with_the_rows(units, url, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _client, token = make_client(department=units[0])
    http = api(token)

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            assert http.get(url).status_code == 200
        return len(captured)

    def add_cases(n):
        for _ in range(n):
            case = CaseFactory(owning_department=units[0], owner=UserFactory())
            CaseEvent.objects.create(case=case, kind="created")
            ExternalReference.objects.create(case=case, system="B", reference="1")
            CaseArea.objects.create(case=case, area=AreaFactory(), is_primary=True)

    add_cases(2)
    few = count_queries()
    add_cases(20)
    with django_assert_max_num_queries(few):
        http.get(url)


# --- Schema and docs ----------------------------------------------------------------------


def test_schema_is_valid_openapi_3():
    from drf_spectacular.validation import validate_schema

    response = Client().get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    assert "/api/v1/cases/" in schema["paths"]


def test_docs_page_uses_only_vendored_assets_under_the_csp():
    import re

    response = Client().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in html.replace(" ", "")  # no inline script
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    from django.conf import settings
    from django.contrib.staticfiles import finders

    for source in sources:
        if source.startswith(settings.STATIC_URL) or source.startswith("/" + settings.STATIC_URL):
            assert finders.find(source.split(settings.STATIC_URL, 1)[1]), source
        else:
            assert Client().get(source).status_code == 200, source


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases/?cursor=cD1hYmM%3D",  # p=abc: not an id
        "/api/v1/cases/?cursor=not-base64",
        "/api/v1/events/?after=99999999999999999999999",
        "/api/v1/cases/99999999999999999999999/",
        "/api/v1/areas/%00/",
    ],
)
def test_odd_input_is_a_client_error_not_a_server_error(url):
    _client, token = make_client()

    response = api(token).get(url)

    assert 400 <= response.status_code < 500, response.status_code
    assert response["Content-Type"] == PROBLEM


def test_an_area_that_cannot_be_a_slug_is_refused_before_the_database():
    _client, token = make_client(can_create_inquiries=True)

    response = post_json(api(token), "/api/v1/cases/", {"area": "a\x00b", "channel": "phone"})

    assert response.status_code == 400 and "area" in response.json()["errors"]
