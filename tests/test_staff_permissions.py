"""Who may do what in the workspace: officer, lead, coordinator. A case outside one's reach
is a 404 on every staff URL; an action one's role does not allow is a 403."""

import pytest
from django.urls import reverse

from cases.models import Case, CaseDepartment, CaseOwnershipPeriod
from cases.services import work
from tests.factories import CaseFactory, DepartmentFactory, coordinator, lead, officer

pytestmark = pytest.mark.django_db


CASE_GET = ["case_detail"]
CASE_POST = [
    "case_claim",
    "case_assign",
    "case_transfer_offer",
    "case_areas",
    "case_request_contribution",
    "case_reply",
    "case_note",
    "case_wait",
    "case_close",
    "case_reopen",
]
PART_POST = ["transfer_accept", "transfer_decline", "contribution_claim", "contribution_answer"]


@pytest.fixture
def world():
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten")
    gata = DepartmentFactory(slug="gata", name="Gatuavdelningen")
    anna, bo = officer(bygg, "anna"), officer(bygg, "bo")
    mia = officer(miljo, "mia")
    gustav = officer(gata, "gustav")
    case = CaseFactory(owning_department=bygg, owner=anna)
    CaseOwnershipPeriod.objects.create(case=case, department=bygg)
    return {
        "bygg": bygg,
        "miljo": miljo,
        "gata": gata,
        "anna": anna,
        "bo": bo,
        "mia": mia,
        "gustav": gustav,
        "bygg_lead": lead(bygg, "bygglead"),
        "gata_lead": lead(gata, "gatalead"),
        "case": case,
    }


def staff_urls(case, pk=1):
    urls = [reverse(f"staff:{name}", args=[case.reference]) for name in CASE_GET + CASE_POST]
    urls += [reverse(f"staff:{name}", args=[case.reference, pk]) for name in PART_POST]
    return urls


def test_every_workspace_url_needs_login(client, world):
    fixed = [reverse(f"staff:{n}") for n in ("home", "queue", "case_list", "register")]
    for url in fixed + staff_urls(world["case"]):
        response = client.get(url)
        assert response.status_code == 302 and "/konto/logga-in/" in response["Location"], url


def test_a_case_outside_ones_reach_is_404_on_every_url(client, world):
    client.force_login(world["gustav"])
    detail, *actions = staff_urls(world["case"])
    assert client.get(detail).status_code == 404
    for url in actions:
        assert client.post(url, {"body": "x", "reason": "x"}).status_code == 404, url
    world["case"].refresh_from_db()
    assert world["case"].messages.count() == 0


def test_other_units_lead_does_not_see_the_case(client, world):
    client.force_login(world["gata_lead"])
    assert (
        client.get(reverse("staff:case_detail", args=[world["case"].reference])).status_code == 404
    )


def test_officer_sees_unit_cases_but_acts_only_on_own_and_unowned(client, world):
    case = world["case"]
    client.force_login(world["bo"])
    assert client.get(reverse("staff:case_detail", args=[case.reference])).status_code == 200
    response = client.post(reverse("staff:case_reply", args=[case.reference]), {"body": "Hej"})
    assert response.status_code == 403
    response = client.post(
        reverse("staff:case_assign", args=[case.reference]), {"assignee": world["bo"].pk}
    )
    assert response.status_code == 403
    unowned = CaseFactory(owning_department=world["bygg"], owner=None)
    response = client.post(reverse("staff:case_reply", args=[unowned.reference]), {"body": "Hej"})
    assert response.status_code == 302
    assert not case.messages.exists() and unowned.messages.count() == 1


def test_contributing_unit_sees_the_case_and_may_note_but_not_answer_the_company(client, world):
    case = world["case"]
    work.case_request_contribution(
        case_id=case.pk,
        actor=world["anna"],
        department=world["miljo"],
        question="Buller?",
        due_on=case.due_at,
    )
    client.force_login(world["mia"])
    assert client.get(reverse("staff:case_detail", args=[case.reference])).status_code == 200
    assert (
        client.post(reverse("staff:case_note", args=[case.reference]), {"body": "OK"}).status_code
        == 302
    )
    for name in ("case_reply", "case_close", "case_wait"):
        assert (
            client.post(reverse(f"staff:{name}", args=[case.reference]), {"body": "x"}).status_code
            == 403
        )


def test_lead_acts_on_any_unit_case_and_assigns_inside_the_unit(client, world):
    case = world["case"]
    client.force_login(world["bygg_lead"])
    response = client.post(
        reverse("staff:case_assign", args=[case.reference]), {"assignee": world["bo"].pk}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.owner == world["bo"]
    response = client.post(
        reverse("staff:case_assign", args=[case.reference]), {"assignee": world["mia"].pk}
    )
    assert response.status_code == 200  # not a choice: the form says so
    case.refresh_from_db()
    assert case.owner == world["bo"]


def test_coordinator_sees_and_does_everything(client, world):
    case = world["case"]
    client.force_login(coordinator())
    assert client.get(reverse("staff:case_detail", args=[case.reference])).status_code == 200
    response = client.post(
        reverse("staff:case_assign", args=[case.reference]), {"assignee": world["bo"].pk}
    )
    assert response.status_code == 302
    response = client.post(reverse("staff:case_reply", args=[case.reference]), {"body": "Hej"})
    assert response.status_code == 302
    assert case.messages.count() == 1


def test_receiving_unit_sees_an_offered_case_and_the_sender_keeps_sight_after(client, world):
    case = world["case"]
    transfer = work.case_transfer_offer(
        case_id=case.pk, actor=world["anna"], to_department=world["gata"], reason="Gatumark"
    )
    client.force_login(world["gustav"])
    assert client.get(reverse("staff:case_detail", args=[case.reference])).status_code == 200
    response = client.post(reverse("staff:case_reply", args=[case.reference]), {"body": "Hej"})
    assert response.status_code == 403
    client.post(reverse("staff:transfer_accept", args=[case.reference, transfer.pk]))
    case.refresh_from_db()
    assert case.owner == world["gustav"]
    client.force_login(world["anna"])
    assert client.get(reverse("staff:case_detail", args=[case.reference])).status_code == 200
    assert CaseDepartment.objects.get(case=case, department=world["bygg"]).role == "contributor"


def test_sender_cannot_accept_its_own_transfer(client, world):
    case = world["case"]
    transfer = work.case_transfer_offer(
        case_id=case.pk, actor=world["anna"], to_department=world["gata"], reason="Gatumark"
    )
    client.force_login(world["anna"])
    response = client.post(reverse("staff:transfer_accept", args=[case.reference, transfer.pk]))
    assert response.status_code == 403
    transfer.refresh_from_db()
    assert transfer.status == "pending"


# --- Roles and permissions: every grant is checked; a unit's lead comes from Membership --------


def test_every_permission_a_role_grants_on_cases_is_checked_somewhere():
    """A custom permission granted to a role but never asked for is a false promise."""
    from pathlib import Path

    from django.conf import settings

    from departments.roles import ROLE_PERMISSIONS

    base = Path(settings.BASE_DIR)
    sources = [
        path.read_text(encoding="utf-8")
        for pattern in ("*/**/*.py", "templates/**/*.html")
        for path in base.glob(pattern)
        if not path.is_relative_to(base / ".venv")
        and "migrations" not in path.parts
        and path.parts[len(base.parts)] != "tests"
        and path.name != "roles.py"
    ]
    code = "\n".join(sources)
    custom = {codename for codename, _label in Case._meta.permissions}
    granted = {perm.split(".")[1] for perms in ROLE_PERMISSIONS.values() for perm in perms}
    for codename in custom & granted:
        assert f'"cases.{codename}"' in code or f"perms.cases.{codename}" in code, codename


def test_the_dashboard_follows_the_view_dashboard_permission_and_lead_memberships(client):
    from django.contrib.auth.models import Permission

    unit, other = DepartmentFactory(), DepartmentFactory()
    url = reverse("insights:dashboard")
    plain = officer(unit)
    client.force_login(plain)
    assert client.get(url).status_code == 403
    plain.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    plain = type(plain).objects.get(pk=plain.pk)
    client.force_login(plain)
    assert client.get(url).context["scope_names"] is None
    chief = lead(other)
    client.force_login(chief)
    assert client.get(url).context["scope_names"] == [other.name]
