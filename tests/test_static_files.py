"""Static files as production serves them: `collectstatic` with the manifest storage and
WhiteNoise keeping only the hashed copies (WHITENOISE_KEEP_ONLY_HASHED_FILES, issue 14: the
index of the files every web worker holds is half the size). Every static URL the pages emit,
and every file a served style sheet refers to, must still be found."""

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from whitenoise.storage import CompressedManifestStaticFilesStorage

from tests.factories import CaseFactory, coordinator

pytestmark = pytest.mark.django_db

ATTRIBUTE = re.compile(r'(?:src|href)="([^"]+)"')
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
# A content hash as ManifestStaticFilesStorage writes it: name.0123456789ab.ext
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")


@pytest.fixture
def production_static(settings, tmp_path, monkeypatch):
    """The production storage, with the files collected into a temporary STATIC_ROOT (not
    compressed: the .gz copies are beside the point here and take most of the time)."""
    monkeypatch.setattr(CompressedManifestStaticFilesStorage, "compress_files", lambda *a: ())
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    return Path(settings.STATIC_ROOT)


def _static_urls(html: str) -> set[str]:
    return {url for url in ATTRIBUTE.findall(html) if url.startswith(settings.STATIC_URL)}


def test_production_keeps_only_hashed_static_files():
    assert settings.WHITENOISE_KEEP_ONLY_HASHED_FILES is True


def test_every_static_url_the_pages_emit_is_hashed_and_served(production_static):
    staff = coordinator()
    staff.user_permissions.add(*Permission.objects.all())
    staff.is_staff = staff.is_superuser = True
    staff.save()
    case = CaseFactory()
    public, logged_in = Client(), Client()
    logged_in.force_login(staff)

    pages = [
        (public, reverse("home")),
        (public, reverse("cases_public:ask")),
        (public, reverse("login")),
        (public, "/admin/login/"),
        (logged_in, reverse("staff:case_list") + "?status=open&page=1"),
        (logged_in, reverse("staff:case_detail", args=[case.reference])),
        (logged_in, "/admin/cases/case/"),
        (logged_in, f"/admin/cases/case/{case.pk}/change/"),
        (logged_in, reverse("api:docs")),
    ]
    seen = set()
    for client, page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        urls = _static_urls(response.content.decode())
        assert urls, f"{page} links no static file"
        seen |= urls

    to_fetch, fetched = sorted(seen), set()
    while to_fetch:
        url = to_fetch.pop()
        path = urlsplit(url).path
        if path in fetched:
            continue
        fetched.add(path)
        assert HASHED.search(path), f"unhashed static URL {url}"
        response = Client().get(path)
        assert response.status_code == 200, url
        if path.endswith(".css"):
            body = b"".join(response.streaming_content).decode()
            for ref in CSS_URL.findall(body):
                if ref.startswith(("data:", "#", "http:", "https:")):
                    continue
                to_fetch.append(urljoin(path, ref))
    assert len(fetched) > len(seen)  # the style sheets' images and fonts were followed too

    # The originals are gone: WhiteNoise indexes (and serves) the hashed copies only.
    assert Client().get(settings.STATIC_URL + "css/portal.css").status_code == 404
    assert not (production_static / "css" / "portal.css").exists()
    assert list((production_static / "css").glob("portal.*.css"))
