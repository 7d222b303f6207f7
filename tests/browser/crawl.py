"""A crawler for the browser tests: visits every page a role can reach by following links,
and submits every POST form it finds once, in headless Chromium.

Pages are grouped by their Django URL name, so a page type (a case page, a meeting) is visited
at most `per_view` times however many rows link to it; forms are grouped by the URL name of
their action and their field names. A new page or form is covered without a new test.

A failure is: a CSRF refusal (the portal's 403 page), any 5xx, any console error, any link
to a page that does not exist (404) and any page whose <html lang> is not the language chosen.
"""

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urlsplit

from django.urls import Resolver404, resolve
from playwright.sync_api import Error as PlaywrightError

CSRF_HEADING = ("Formuläret kunde inte skickas", "The form could not be sent")

# Never followed: leaving the session, single sign-on, files.
SKIP_PATH_PARTS = ("/konto/logga-ut/", "/admin/logout/", "/oidc/", "/static/", "/media/")
SKIP_VIEWS = {"logout", "admin:logout", "set_language", "admin:jsi18n", "admin:view_on_site"}

# Fills a form in the page with valid-ish values (JavaScript, so that fields inside closed
# <details> are filled too). Returns a short description of the form.
FILL_FORM_JS = """
(form, future) => {
  const text = (el) => {
    const name = (el.name || "").toLowerCase();
    if (name === "website") return "";  // the honeypot stays empty
    if (name.includes("org_number")) return "556036-0793";
    if (name.includes("phone") || el.type === "tel") return "0176-123 45";
    if (name.includes("reference")) return el.value;
    return "Test från webbläsartestet";
  };
  const radios = new Set();
  for (const el of form.elements) {
    if (el.disabled || !el.name) continue;
    const tag = el.tagName.toLowerCase();
    const type = (el.type || "").toLowerCase();
    if (tag === "select") {
      if (!el.value) {
        const option = [...el.options].find((o) => o.value);
        if (option) el.value = option.value;
      }
      if (el.multiple && el.selectedOptions.length === 0 && el.options.length) {
        el.options[0].selected = true;
      }
    } else if (tag === "textarea") {
      if (!el.value) el.value = "Test från webbläsartestet.";
    } else if (type === "checkbox") {
      el.checked = true;
    } else if (type === "radio") {
      radios.add(el.name);
    } else if (type === "email") {
      if (!el.value) el.value = "crawl@example.se";
    } else if (type === "date") {
      if (!el.value || el.value <= future) el.value = future;
    } else if (type === "datetime-local") {
      el.value = future + "T10:00";
    } else if (type === "time") {
      if (!el.value) el.value = "10:00";
    } else if (type === "number") {
      if (!el.value) el.value = el.min || "1";
    } else if (type === "url") {
      if (!el.value) el.value = "https://example.se/";
    } else if (["text", "search", ""].includes(type)) {
      if (!el.value) el.value = text(el);
    }
  }
  for (const name of radios) {
    const group = [...form.querySelectorAll(`input[type=radio][name="${name}"]`)];
    if (!group.some((r) => r.checked)) group[group.length - 1].checked = true;
  }
}
"""

FORMS_JS = """
() => [...document.querySelectorAll("form")]
  .filter((f) => (f.getAttribute("method") || "get").toLowerCase() === "post")
  .map((f, index) => ({
    index,
    action: f.action,
    fields: [...new Set([...f.elements].map((e) => e.name).filter((n) => n))].sort(),
    hasPassword: !!f.querySelector("input[type=password]"),
  }))
"""


def next_working_day(days_ahead=14):
    day = dt.date.today() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.isoformat()


@dataclass
class RoleReport:
    role: str
    language: str
    pages: list = field(default_factory=list)
    forms: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def line(self):
        return (
            f"{self.role:<14} {self.language}  pages visited: {len(self.pages):>3}  "
            f"forms submitted: {len(self.forms):>3}  failures: {len(self.failures)}"
        )


def view_name(url):
    path = urlsplit(url).path
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


class Crawler:
    def __init__(self, page, base_url, report, *, per_view=2, max_pages=150):
        self.page = page
        self.base = base_url.rstrip("/")
        self.report = report
        self.per_view = per_view
        self.max_pages = max_pages
        self.seen_urls = set()
        self.view_counts = {}
        self.form_keys = set()
        self.queue = []
        self.console = []
        self.responses = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))
        page.on("response", self._on_response)
        page.on("dialog", lambda dialog: dialog.accept())

    # --- events ------------------------------------------------------------------------

    def _on_console(self, message):
        if message.type == "error":
            self.console.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_response(self, response):
        if not response.url.startswith(self.base):
            return
        self.responses.append((response.request.method, response.status, response.url))

    def _fail(self, what):
        self.report.failures.append(what)

    def _check_after(self, where):
        """What happened since the last check: statuses, console errors, the page's lang."""
        for method, status, url in self.responses:
            if status >= 500:
                self._fail(f"{status} {method} {url} ({where})")
            elif status == 404:
                self._fail(f"404 {method} {url} ({where})")
        self.responses.clear()
        for message in self.console:
            self._fail(f"console error on {where}: {message}")
        self.console.clear()
        if self.page.url.startswith(self.base) and "text/html" in self._content_type():
            body = self.page.locator("body").inner_text(timeout=5_000)
            if self.page.title().startswith(CSRF_HEADING) or any(h in body for h in CSRF_HEADING):
                self._fail(f"CSRF refusal ({where})")
            lang = self.page.locator("html").get_attribute("lang")
            expected = self.expected_language()
            if lang != expected and not urlsplit(self.page.url).path.startswith("/admin/"):
                self._fail(f'<html lang="{lang}"> on {self.page.url}, chosen {expected}')

    def _content_type(self):
        return self.page.evaluate("document.contentType") or ""

    def expected_language(self):
        for cookie in self.page.context.cookies(self.base):
            if cookie["name"] == "django_language":
                return cookie["value"]
        return self.report.language

    # --- links -------------------------------------------------------------------------

    def enqueue(self, url):
        url = urldefrag(url)[0]
        if not url.startswith(self.base) or url in self.seen_urls:
            return
        path = urlsplit(url).path
        if any(part in path for part in SKIP_PATH_PARTS):
            return
        name = view_name(url)
        if name is None or name in SKIP_VIEWS:
            if name is None:
                self._fail(f"link to an unknown address {url}")
            return
        # The admin's pages are Django's own: one of each kind is enough.
        limit = 1 if name.startswith("admin:") else self.per_view
        if self.view_counts.get(name, 0) >= limit:
            return
        self.view_counts[name] = self.view_counts.get(name, 0) + 1
        self.seen_urls.add(url)
        self.queue.append(url)

    def _links(self):
        return self.page.eval_on_selector_all(
            "a[href]:not([download]):not([href^='#'])", "els => els.map((a) => a.href)"
        )

    def visit(self, url):
        # Files (CSV, iCalendar) are fetched, not opened: a browser would download them.
        head = self.page.context.request.get(url, max_redirects=0)
        kind = head.headers.get("content-type", "")
        status = head.status
        if status >= 500 or status in (404, 405):
            self._fail(f"{status} GET {url}")
            return
        if "text/html" not in kind and status < 300:
            self.report.pages.append(url)
            return
        self.page.goto(url)
        self.report.pages.append(url)
        self._check_after(url)
        for link in self._links():
            self.enqueue(link)
        self.submit_forms(url)

    # --- forms -------------------------------------------------------------------------

    def submit_forms(self, url):
        if urlsplit(url).path.startswith("/admin/"):
            return  # the admin's forms are Django's own; its pages are visited
        for form in self.page.evaluate(FORMS_JS):
            if form["hasPassword"]:
                continue
            key = (view_name(form["action"]), tuple(form["fields"]))
            if key[0] in SKIP_VIEWS - {"set_language"} or key in self.form_keys:
                continue
            self.form_keys.add(key)
            self._submit(url, form, key)

    def _submit(self, url, form, key):
        if self.page.url != url:
            self.page.goto(url)
            self.responses.clear()
            self.console.clear()
        forms = self.page.locator("form[method=post], form[method=POST]")
        target = None
        for index in range(forms.count()):
            candidate = forms.nth(index)
            fields = candidate.evaluate(
                "f => [...new Set([...f.elements].map((e) => e.name).filter((n) => n))].sort()"
            )
            if candidate.evaluate("f => f.action") == form["action"] and fields == form["fields"]:
                target = candidate
                break
        if target is None:
            self.report.skipped.append(f"{key[0]} (gone after an earlier form)")
            return
        target.evaluate(FILL_FORM_JS.strip(), next_working_day())
        try:
            with self.page.expect_navigation(wait_until="load"):
                target.evaluate(
                    "f => f.requestSubmit(f.querySelector('button[type=submit], "
                    "button:not([type]), input[type=submit]') || undefined)"
                )
        except PlaywrightError as error:
            # A form that answers with a file (an export) starts a download, not a page.
            if "ERR_ABORTED" not in str(error):
                raise
            self.page.wait_for_timeout(200)
        posted = [status for method, status, _url in self.responses if method == "POST"]
        self.report.forms.append(f"{key[0]} -> {posted[0] if posted else '?'}")
        self._check_after(f"form {key[0]} on {url}")
        for link in self._links():
            self.enqueue(link)

    def run(self, start_urls):
        for url in start_urls:
            self.enqueue(url if url.startswith("http") else self.base + url)
        while self.queue and len(self.report.pages) < self.max_pages:
            self.visit(self.queue.pop(0))
        return self.report
