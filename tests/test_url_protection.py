"""Every URL is protected unless it is on the public allow-list; every staff view refuses
the roles it should, and a case outside one's reach does not exist (404)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RoutePattern

from cases.models import CaseEvent, Message
from tests.factories import CaseFactory, DepartmentFactory, coordinator, lead, officer

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
    elsewhere = DepartmentFactory(slug="gatu-park", name="Gatu och park")
    people = {
        "owner": officer(unit, username="agare"),
        "colleague": officer(unit, username="kollega"),
        "lead": lead(unit, username="chef"),
        "coordinator": coordinator(),
        "outsider": officer(elsewhere, username="utomstaende"),
    }
    case = CaseFactory(owning_department=unit, owner=people["owner"], status="in_progress")
    return case, people


def case_urls(case):
    """Every staff URL about one case, from the URLconf, with the case's reference."""
    urls = []
    for url, name, _callback in all_urls():
        if SAMPLE["reference"] in url and name.split(":")[0] in {"staff", "records"}:
            urls.append((name, url.replace(SAMPLE["reference"], case.reference)))
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


@pytest.mark.parametrize("role", ["owner", "colleague", "lead", "coordinator"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_people_with_the_case_in_reach_never_get_404_or_500(client, world, role, method):
    case, people = world
    client.force_login(people[role])
    for name, url in case_urls(case):
        if "/1/" in url.replace(case.reference, ""):
            continue  # sub-objects (transfers, contributions, messages) with a sample id
        response = getattr(client, method)(url)
        assert response.status_code in (200, 302, 403, 405), (role, name, response.status_code)


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
