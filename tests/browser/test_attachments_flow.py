"""In a real browser: the company attaches a PDF from its private link and the officer
downloads it from the case page."""

import re

import pytest
from django.urls import reverse

from cases.models import Attachment, Case
from tests.browser.test_officer_flow import log_in
from tests.factories import CaseFactory, DepartmentFactory, officer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_company_attaches_pdf_and_officer_downloads_it(
    chromium, live_server, fast_passwords, tmp_path
):
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    anna = officer(bygg, "anna")
    case = CaseFactory(owning_department=bygg, owner=anna, status=Case.Status.IN_PROGRESS)
    token = case.followers.get().token
    drawing = tmp_path / "ritning-altan.pdf"
    drawing.write_bytes(PDF)

    company = chromium.new_context(locale="sv-SE").new_page()
    company.set_default_timeout(15_000)
    company.goto(live_server.url + reverse("cases_public:tracking", args=[token]))
    company.get_by_role("textbox", name="Ditt meddelande").fill(
        "Här kommer ritningen över altanen."
    )
    company.get_by_label("Bifoga filer").set_input_files(str(drawing))
    company.get_by_role("button", name="Skicka meddelandet").click()
    company.wait_for_url(re.compile(re.escape(token) + r"/$"))
    assert "Tack! Ditt meddelande har skickats" in company.content()
    assert company.get_by_role("link", name="ritning-altan.pdf").is_visible()
    company.screenshot(path=str(tmp_path / "company.png"), full_page=True)

    page = log_in(chromium, live_server, "anna")
    page.goto(live_server.url + reverse("staff:case_detail", args=[case.reference]))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="ritning-altan.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "ritning-altan.pdf"
    with open(download.path(), "rb") as saved:
        assert saved.read() == PDF
    assert Attachment.objects.get().case == case
