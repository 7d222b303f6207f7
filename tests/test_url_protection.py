"""Every URL is protected unless it is on the public allow-list; every staff view refuses
the roles it should, and a case outside one's reach does not exist (404)."""

import datetime as dt
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from cases.models import CaseEvent, Message
from cases.services import work
from cases.services.attachments import prepare_file
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory, coordinator, lead, officer

pytestmark = pytest.mark.django_db

# The only views anyone may open without logging in. A new public view must be added here
# on purpose (and be reviewed for rate limits, tokens and escaping).
PUBLIC = {
    "home",
    "accessibility",
    "privacy",
    "health",
    "favicon",
    "login",
    "set_language",
    "departments:map",
    "cases_public:ask",
    "cases_public:tracking",
    "cases_public:tracking_message",
    "cases_public:tracking_follower",
    "cases_public:attachment",  # a file through the company's secret link (issue 18)
    "insights_public:feedback",
    "admin:login",
    # the API: its reference pages, and its endpoints that answer 401 without a client's
    # token instead of redirecting to the login page (tests/test_api.py checks each)
    "api:schema",
    "api:docs",
    "api:not_found",
    "api:unit-list",
    "api:unit-detail",
    "api:area-list",
    "api:area-detail",
    "api:case-list",
    "api:case-detail",
    "api:case-external-references",
    "api:case-messages",
    "api:case-timeline",
    "api:event-list",
    # only with single sign-on configured
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "oidc_logout",
}

SAMPLE = {
    "token": "A" * 43,
    "reference": "FL-2026-00001",
    "int": "1",
    "slug": "enheter",
    "path": "1",
    "str": "x",
    "pk": "1",
}


def walk(patterns=None, prefix="", namespace=None):
    """(url, name, callback) for every pattern, with sample values for its parameters."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace
            space = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from walk(pattern.url_patterns, prefix + _fill(pattern.pattern), space)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield "/" + prefix + _fill(pattern.pattern), name or "", pattern.callback


def _fill(pattern) -> str:
    raw = str(pattern)
    if isinstance(pattern, RoutePattern):

        def sample(match):
            converter, name = match.group(1) or "str", match.group(2)
            return SAMPLE.get(name) or SAMPLE.get(converter, "1")

        return re.sub(r"<(?:(\w+):)?(\w+)>", sample, raw)
    raw = re.sub(
        r"\(\?P<(\w+)>[^)]*\)",
        lambda m: "cases" if m.group(1) == "app_label" else SAMPLE.get(m.group(1), "x"),
        raw,
    )
    return raw.lstrip("^").rstrip("$").replace("\\", "")


def all_urls():
    return list(walk())


def test_the_walk_finds_the_staff_and_public_views():
    names = {name for _url, name, _callback in all_urls()}
    assert {"staff:case_detail", "records:case_export", "cases_public:ask"} <= names
    for url, _name, callback in all_urls():
        assert resolve(url).func == callback, url


def test_only_allow_listed_views_are_open_without_login():
    open_views = {
        name or url
        for url, name, callback in all_urls()
        if getattr(callback, "login_required", True) is False
    }
    assert open_views <= PUBLIC, f"public without being allow-listed: {open_views - PUBLIC}"


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_staff_url_redirects_anonymous_visitors_to_login(client, method):
    logins = (reverse("login"), reverse("admin:login"))  # the admin guards itself
    reachable = []
    for url, name, _callback in all_urls():
        if name in PUBLIC:
            continue
        response = getattr(client, method)(url)
        redirected = response.status_code == 302 and response["Location"].startswith(logins)
        if not redirected:
            reachable.append((url, response.status_code))
    assert not reachable, f"reachable without login: {reachable}"


# --- Roles on a case ---------------------------------------------------------------------


@pytest.fixture
def world(db):
    unit = DepartmentFactory(slug="bygglovsenheten", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljoenheten", name="Miljöenheten")
    raddning = DepartmentFactory(slug="raddningstjansten", name="Räddningstjänsten")
    elsewhere = DepartmentFactory(slug="gatu-park", name="Gatu och park")
    people = {
        "owner": officer(unit, username="agare"),
        "colleague": officer(unit, username="kollega"),
        "lead": lead(unit, username="chef"),
        "coordinator": coordinator(),
        "outsider": officer(elsewhere, username="utomstaende"),
    }
    case = CaseFactory(owning_department=unit, owner=people["owner"], status="in_progress")
    # Sub-objects of the case: a transfer offered to one unit, a contribution asked of another,
    # a message. The walk fills their ids into the URLs.
    work.case_transfer_offer(
        case_id=case.pk, actor=people["owner"], to_department=miljo, reason="Miljöfråga."
    )
    work.case_request_contribution(
        case_id=case.pk,
        actor=people["owner"],
        department=raddning,
        question="Brandskydd?",
        due_on=timezone.localdate() + dt.timedelta(days=7),
    )
    work.case_add_note(
        case_id=case.pk,
        actor=people["owner"],
        body="Ringt företaget.",
        files=[prepare_file("plan.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")],
    )
    return case, people


def sub_object_ids(case) -> dict[str, int]:
    """The case's own sub-objects, by the URL segment their id follows."""
    return {
        "overlamningar": case.transfers.get().pk,
        "underlag": case.case_departments.exclude(department=case.owning_department).get().pk,
        "meddelanden": case.messages.get().pk,
        "bilagor": case.attachments.get().pk,
    }


def case_urls(case, ids=None):
    """Every staff URL about one case, from the URLconf, with the case's reference and its
    sub-objects' ids (or `ids`, e.g. another case's)."""
    ids = ids or sub_object_ids(case)
    urls = []
    for url, name, _callback in all_urls():
        if SAMPLE["reference"] in url and name.split(":")[0] in {"staff", "records"}:
            unknown = set(re.findall(r"/([\w-]+)/1/", url)) - set(ids)
            assert not unknown, f"{name}: a sub-object the walk does not know: {url}"
            url = url.replace(SAMPLE["reference"], case.reference)
            for segment, pk in ids.items():
                url = url.replace(f"/{segment}/1/", f"/{segment}/{pk}/")
            urls.append((name, url))
    return urls


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_case_outside_ones_reach_is_404_on_every_url(client, world, method):
    case, people = world
    client.force_login(people["outsider"])
    urls = case_urls(case)
    assert len(urls) >= 10
    for name, url in urls:
        response = getattr(client, method)(url)
        # 405 (wrong method) is decided before the case is looked up: it reveals nothing
        assert response.status_code in (404, 405), (name, response.status_code)
    assert not CaseEvent.objects.filter(case=case, actor=people["outsider"]).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_sub_object_of_another_case_is_404_under_this_case(client, world, method):
    case, people = world
    other = CaseFactory(owning_department=case.owning_department, owner=people["owner"])
    client.force_login(people["coordinator"])
    for name, url in case_urls(other, ids=sub_object_ids(case)):
        if not any(f"/{segment}/" in url for segment in sub_object_ids(case)):
            continue
        response = getattr(client, method)(url)
        assert response.status_code in (404, 405), (name, response.status_code)


def valid_posts(case, people) -> dict[str, dict]:
    """A valid form for each action, so the walk reaches the permission check (an invalid
    form is answered with its errors first). The sub-objects are the world's."""
    soon = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    area = AreaFactory(owner=case.owning_department)
    other = DepartmentFactory(slug="kultur", name="Kultur")
    text = {"body": "Vi har tittat på frågan."}
    part = case.case_departments.exclude(department=case.owning_department).get()
    return {
        "staff:case_assign": {"assignee": people["colleague"].pk},
        # to the unit already offered: refused after the permission check, keeps the offer
        "staff:case_transfer_offer": {
            "to_department": case.transfers.get().to_department_id,
            "reason": "Miljöfråga.",
        },
        "staff:case_areas": {"primary": area.pk},
        "staff:case_request_contribution": {
            "department": other.pk,
            "question": "Behövs tillstånd?",
            "due_on": soon,
        },
        "staff:case_reply": text,
        "staff:case_note": text,
        "staff:case_wait": text,
        "staff:case_close": text,
        "staff:case_extend_deadline": {"new_due": soon, "reason": "Väntar på remiss."},
        "staff:case_reopen": {"reason": "Företaget hörde av sig igen."},
        "staff:transfer_decline": {"reason": "Inte vår fråga."},
        "staff:contribution_answer": {f"c{part.pk}-text": "Inget att invända."},
        "records:case_confidential": {"confidential": "1", "reason": "OSL 30 kap. 23 §"},
        "records:message_confidential": {"confidential": "1", "reason": "OSL 30 kap. 23 §"},
    }


# What each role with the case in reach may NOT do (403); everything else it may (never 403).
MAY_NOT = {
    "owner": {
        "staff:case_assign",
        "staff:transfer_accept",
        "staff:transfer_decline",
        "staff:contribution_claim",
        "staff:contribution_answer",
        "records:case_audit_log",
    },
    "colleague": {
        "staff:case_assign",
        "staff:case_transfer_offer",
        "staff:case_areas",
        "staff:case_request_contribution",
        "staff:case_reply",
        "staff:case_wait",
        "staff:case_close",
        "staff:case_extend_deadline",
        "staff:case_reopen",
        "staff:transfer_accept",
        "staff:transfer_decline",
        "staff:contribution_claim",
        "staff:contribution_answer",
        "records:case_confidential",
        "records:message_confidential",
        "records:case_audit_log",
    },
    "lead": {
        "staff:transfer_accept",
        "staff:transfer_decline",
        "staff:contribution_claim",
        "staff:contribution_answer",
        "records:case_audit_log",
    },
    "coordinator": set(),
}


@pytest.mark.parametrize("role", ["owner", "colleague", "lead", "coordinator"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_people_with_the_case_in_reach_get_403_exactly_where_their_role_may_not_act(
    client, world, role, method
):
    case, people = world
    client.force_login(people[role])
    data = valid_posts(case, people) if method == "post" else {}
    refused, wrong_method, wrongly = set(), set(), []
    # The sub-objects' actions first: closing the case withdraws its pending transfer.
    ids = sub_object_ids(case)
    urls = sorted(case_urls(case, ids), key=lambda item: not any(f"/{s}/" in item[1] for s in ids))
    for name, url in urls:
        response = getattr(client, method)(url, data.get(name, {}))
        status = response.status_code
        if status == 403:
            refused.add(name)
        elif status == 405:
            wrong_method.add(name)
        elif status not in (200, 302):
            wrongly.append((name, status))
    assert not wrongly, (role, wrongly)
    if method == "post":
        expected = MAY_NOT[role] - wrong_method
        assert refused == expected, (role, sorted(refused ^ expected))
    else:  # a GET of a POST-only action is 405 before any permission check
        assert refused <= MAY_NOT[role], (role, sorted(refused))


@pytest.mark.parametrize(
    "role, allowed",
    [("owner", True), ("colleague", False), ("lead", True), ("coordinator", True)],
)
def test_replying_to_the_company_is_for_who_may_act(client, world, role, allowed):
    case, people = world
    client.force_login(people[role])
    response = client.post(
        reverse("staff:case_reply", args=[case.reference]), {"body": "Svar till företaget."}
    )
    sent = Message.objects.filter(case=case, kind="to_company").exists()
    assert sent is allowed
    assert response.status_code == (302 if allowed else 403)


@pytest.mark.parametrize(
    "role, allowed",
    [("owner", False), ("colleague", False), ("lead", True), ("coordinator", True)],
)
def test_assigning_is_for_the_lead_and_the_coordinator(client, world, role, allowed):
    case, people = world
    client.force_login(people[role])
    client.post(
        reverse("staff:case_assign", args=[case.reference]),
        {"assignee": people["colleague"].pk},
    )
    case.refresh_from_db()
    assert (case.owner == people["colleague"]) is allowed


@pytest.mark.parametrize(
    "role, status",
    [("owner", 403), ("colleague", 403), ("lead", 403), ("coordinator", 200), ("outsider", 404)],
)
def test_audit_log_per_role(client, world, role, status):
    case, people = world
    client.force_login(people[role])
    assert client.get(reverse("records:case_audit_log", args=[case.reference])).status_code == (
        status
    )


@pytest.mark.parametrize(
    "role, status",
    [("owner", 200), ("colleague", 200), ("lead", 200), ("coordinator", 200), ("outsider", 404)],
)
def test_case_page_per_role(client, world, role, status):
    case, people = world
    client.force_login(people[role])
    assert client.get(reverse("staff:case_detail", args=[case.reference])).status_code == status


def test_coordinator_pages_refuse_officers(client, world):
    _case, people = world
    client.force_login(people["owner"])
    assert client.get(reverse("insights:dashboard")).status_code == 403
    client.force_login(people["coordinator"])
    assert client.get(reverse("insights:dashboard")).status_code == 200
