"""The company's private page as Chromium lays it out: what the browser's CSS does to the
markup, which no test client sees."""

import pytest
from django.urls import reverse

from cases.services.attachments import PreparedFile, attachments_store
from tests.factories import CaseFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_questions_attachments_are_listed_one_line_each_under_the_question(
    chromium, live_server
):
    case = CaseFactory(description="Vi vill bygga en altan.\nBehövs bygglov?")
    files = [PreparedFile(name, "application/pdf", PDF) for name in ("ritning.pdf", "skiss.pdf")]
    attachments_store(case=case, files=files, from_company=True)
    token = case.followers.get().token

    page = chromium.new_context(locale="sv-SE", viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + reverse("cases_public:tracking", args=[token]))

    stored = page.locator("section[aria-labelledby=stored-heading]")
    question = stored.locator("dd", has_text="Vi vill bygga en altan.")
    # The question keeps its own line breaks...
    assert question.get_by_text("Behövs bygglov?").is_visible()
    # ...but the list of its files is laid out as on every other page: "Bilaga: ritning.pdf
    # (45 byte)" on one line, right under the question (the question's line breaks kept with
    # white-space: pre-line once split each item in two and put empty lines above the list).
    items = question.locator("ul.attachments li")
    assert items.count() == 2
    line_height = items.first.evaluate("li => parseFloat(getComputedStyle(li).lineHeight)")
    for item in items.all():
        assert item.bounding_box()["height"] < 1.5 * line_height, item.inner_text()
    text_bottom = page.evaluate(
        """(dd) => { const range = document.createRange(); range.selectNodeContents(dd.firstChild);
                     return range.getBoundingClientRect().bottom; }""",
        question.element_handle(),
    )
    list_top = question.locator("ul.attachments").bounding_box()["y"]
    assert list_top - text_bottom < 2 * line_height
