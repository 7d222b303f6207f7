import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from departments.models import Department, ResponsibilityArea

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_seed_norrtalje_twice_changes_nothing_and_every_area_has_one_owner():
    call_command("seed_norrtalje", verbosity=0)
    counts = Department.objects.count(), ResponsibilityArea.objects.count()
    call_command("seed_norrtalje", verbosity=0)
    assert (Department.objects.count(), ResponsibilityArea.objects.count()) == counts
    assert counts == (20, 24)
    assert not ResponsibilityArea.objects.filter(owner__isnull=True).exists()


@pytest.mark.django_db
def test_seed_norrtalje_updates_an_edited_area_instead_of_duplicating(norrtalje):
    area = ResponsibilityArea.objects.get(slug="bygglov")
    area.name = "Ändrat namn"
    area.owner = Department.objects.get(slug="kontaktcenter")
    area.save()
    call_command("seed_norrtalje", verbosity=0)
    area.refresh_from_db()
    assert area.name == "Bygglov, skyltar och anmälan"
    assert area.owner.slug == "bygglovsenheten"
    assert ResponsibilityArea.objects.filter(slug="bygglov").count() == 1


@pytest.mark.django_db
def test_seed_demo_creates_every_role(norrtalje):
    call_command("seed_demo", verbosity=0, cases=0)
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    assert users.filter(groups__name="Lotssamordnare").exists()
    assert users.filter(groups__name="Administratör").exists()
    for department in Department.objects.all():
        assert department.memberships.filter(role="lead").exists(), department
        assert department.memberships.filter(role="officer").count() >= 1, department


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/", "/ansvar/", "/fraga/", "/tillganglighet/", "/personuppgifter/"]
)
def test_public_pages_answer_in_swedish_with_landmarks(client, norrtalje, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="sv">' in html
    assert 'href="#main"' in html and '<main id="main"' in html
    assert "cdn" not in html.lower()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, expected",
    [
        ("serveringstillståndet", "serveringstillstand"),
        ("bygglovet", "bygglov"),
        ("uteserveringen", "markupplatelse"),
        ("livsmedelsverksamheten", "livsmedel"),
    ],
)
def test_responsibility_map_search_finds_inflected_forms(client, norrtalje, query, expected):
    response = client.get(reverse("departments:map"), {"q": query})
    assert response.status_code == 200
    slugs = [area.slug for area in response.context["areas"]]
    assert expected in slugs[:3], slugs


@pytest.mark.django_db
def test_responsibility_map_shows_contacts_to_staff_only(client, norrtalje):
    from tests.factories import UserFactory

    email = Department.objects.get(slug="bygglovsenheten").email
    assert email not in client.get("/ansvar/").content.decode()
    client.force_login(UserFactory())
    assert email in client.get("/ansvar/").content.decode()


@pytest.mark.django_db
def test_language_switch_to_english(client, norrtalje):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()


def test_check_deploy_with_production_settings_prints_no_warnings(tmp_path):
    # Production never sets the browser tests' async escape hatch; drop it if they ran first.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60 + "production-secret-for-the-check-only-9f8e7d",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "foretagslotsen.norrtalje.se",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "issues" in result.stdout


def test_production_refuses_to_start_without_required_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.update({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr
