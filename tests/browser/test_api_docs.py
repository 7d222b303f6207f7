"""The API reference page works in a real browser under the site's strict CSP."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_without_csp_violations(chromium, live_server):
    page = chromium.new_page()
    problems = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(".opblock", timeout=15_000)

    assert page.locator(".opblock").count() >= 10
    assert page.get_by_text("/api/v1/cases/").first.is_visible()
    page.locator(".opblock-summary").nth(2).click()  # open one operation: models, examples
    page.wait_for_selector(".opblock-body", timeout=5_000)
    assert not problems, problems
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requested)
    page.screenshot(path="/tmp/i17_api_docs.png", full_page=False)
