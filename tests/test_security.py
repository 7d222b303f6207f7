"""Abuse of the public pages, tokens, headers, escaping, login and sessions."""

import datetime as dt
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.models import Case, CaseFollower, Message
from foretagslots import ratelimit
from insights.models import Feedback
from outbox.models import OutgoingEmail
from tests.factories import (
    QUESTION,
    CaseFactory,
    DepartmentFactory,
    UserFactory,
    officer,
    question_form_data,
    submit_question,
)

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("no_form_timing")


# --- Rate limits ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_answers_429_in_swedish_after_the_limit(client, norrtalje, settings):
    settings.RATELIMITS = {"ask": "3/h"}
    for _ in range(3):
        assert submit_question(client, email="inte-en-adress").status_code == 200

    response = submit_question(client)

    assert response.status_code == 429
    assert "För många försök" in response.text and "försök sedan igen" in response.text
    assert 0 < int(response["Retry-After"]) <= 3600
    assert not Case.objects.exists()
    # reading the form is never limited, and another address still may send
    assert client.get(reverse("cases_public:ask")).status_code == 200
    other = client.post(
        reverse("cases_public:ask"), question_form_data(client), REMOTE_ADDR="192.0.2.44"
    )
    assert other.status_code == 302 and Case.objects.count() == 1


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_escape_the_limit(client, norrtalje, settings):
    settings.RATELIMITS = {"ask": "2/h"}
    statuses = [
        client.post(
            reverse("cases_public:ask"), {"email": "x"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
        ).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


@pytest.fixture
def redis_cache(require_redis, settings):
    """The default cache on Redis (the broker's server and database, keys under a prefix of
    their own), as in production."""
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": require_redis,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    from django.core.cache import cache

    yield cache
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*"):
        client.delete(key)


def test_on_redis_the_limit_counts_each_request_once_and_the_window_expires(redis_cache, settings):
    settings.RATELIMITS = {"ask": "3/h"}
    allowed = [ratelimit.hit("ask", "192.0.2.7")[0] for _ in range(4)]
    assert allowed == [True, True, True, False]
    assert ratelimit.exceeded("ask", "192.0.2.7")[0] is True
    assert ratelimit.exceeded("ask", "192.0.2.8")[0] is False
    key = ratelimit._key("ask", "192.0.2.7", int(time.time()) // 3600)
    assert redis_cache.get(key) == 4
    client = redis_cache._cache.get_client(write=False)
    assert 0 < client.ttl(redis_cache.make_and_validate_key(key)) <= 3601


def test_on_redis_a_copy_of_the_form_is_used_once_and_one_client_serves_every_call(
    redis_cache, settings
):
    from django.core.cache.backends.redis import RedisCacheClient

    from foretagslots import cache_ops

    made = []
    real_get_client = RedisCacheClient.get_client

    def counting_get_client(self, *args, **kwargs):
        made.append(1)
        return real_get_client(self, *args, **kwargs)

    with mock.patch.object(RedisCacheClient, "get_client", counting_get_client):
        assert cache_ops.add("form-started:abc", 1, 60) is True
        assert cache_ops.add("form-started:abc", 1, 60) is False
        for _ in range(3):
            ratelimit.hit("ask", "192.0.2.9")
    # stored as cache.add stores it; a submission no longer builds a client per call
    assert redis_cache.get("form-started:abc") == 1
    assert len(made) == 1


def test_behind_a_trusted_proxy_the_address_it_recorded_counts(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.post("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert ratelimit.client_address(request) == "203.0.113.9"
    request = rf.post("/", HTTP_X_FORWARDED_FOR="nonsense", REMOTE_ADDR="10.0.0.2")
    assert ratelimit.client_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.post("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert ratelimit.client_address(request) == "10.0.0.2"


@pytest.mark.parametrize(
    "rate, expected", [("10/h", (10, 3600)), ("5/15m", (5, 900)), ("100/60", (100, 60))]
)
def test_rates_are_read_from_settings_strings(rate, expected):
    assert ratelimit.parse_rate(rate) == expected
    with pytest.raises(ValueError):
        ratelimit.parse_rate("tio per timme")


@pytest.mark.django_db
def test_reply_and_invite_on_the_tracking_page_share_a_limit(client, settings):
    settings.RATELIMITS = {"tracking": "2/h"}
    case = CaseFactory()
    token = case.followers.get().token
    write = reverse("cases_public:tracking_message", args=[token])
    invite = reverse("cases_public:tracking_follower", args=[token])

    assert client.post(write, {"body": "Hej"}).status_code == 302
    assert client.post(invite, {"name": "Bo", "email": "bo@example.se"}).status_code == 302
    response = client.post(write, {"body": "Hej igen"})

    assert response.status_code == 429
    assert Message.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_feedback_form_is_rate_limited(client, settings):
    settings.RATELIMITS = {"feedback": "2/h"}
    url = reverse("insights_public:feedback", args=["B" * 43])
    assert [client.post(url, {}).status_code for _ in range(3)] == [404, 404, 429]


@pytest.mark.django_db
def test_the_form_still_works_when_the_rate_limit_cache_is_down(client, norrtalje):
    with mock.patch("foretagslots.ratelimit.cache.add", side_effect=ConnectionError("redis down")):
        response = submit_question(client)
    assert response.status_code == 302 and Case.objects.count() == 1


# --- Honeypot and fill time ----------------------------------------------------------------


BOT_REFUSAL = "Formuläret kunde inte tas emot"


@pytest.mark.django_db
def test_honeypot_filled_saves_nothing_and_does_not_say_why(client, norrtalje):
    response = submit_question(client, website="http://spam.example")
    assert response.status_code == 200 and not Case.objects.exists()
    form = response.context["form"]
    assert not form.errors.get("website")  # nothing points at the hidden field
    assert form.non_field_errors() == [form.non_field_errors()[0]]
    assert BOT_REFUSAL in form.non_field_errors()[0]


@pytest.mark.django_db
def test_one_form_start_time_is_good_for_one_submission(client, norrtalje, settings):
    settings.RATELIMIT_ENABLED = False
    data = question_form_data(client)
    answers = [client.post(reverse("cases_public:ask"), data).status_code for _ in range(10)]
    assert answers == [302] + [200] * 9
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_a_form_with_a_mistake_can_be_corrected_and_sent_with_its_start_time(client, norrtalje):
    data = question_form_data(client)
    assert client.post(reverse("cases_public:ask"), {**data, "email": "fel"}).status_code == 200
    assert client.post(reverse("cases_public:ask"), data).status_code == 302


@pytest.mark.django_db
def test_form_sent_faster_than_a_person_can_saves_nothing(client, norrtalje, settings):
    settings.FORM_MIN_FILL_SECONDS = 3
    response = submit_question(client)
    assert response.status_code == 200 and BOT_REFUSAL in response.text
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_form_sent_after_the_fill_time_is_accepted(client, norrtalje, settings, time_machine):
    settings.FORM_MIN_FILL_SECONDS = 3
    time_machine.move_to("2026-11-02 09:00:00+01:00", tick=False)
    data = question_form_data(client)
    time_machine.move_to("2026-11-02 09:00:05+01:00", tick=False)
    assert client.post(reverse("cases_public:ask"), data).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("started", ["", "1700000000", "1700000000:forged"])
def test_missing_or_forged_start_time_saves_nothing(client, norrtalje, settings, started):
    settings.FORM_MIN_FILL_SECONDS = 3
    response = client.post(reverse("cases_public:ask"), {**QUESTION, "form_started": started})
    assert response.status_code == 200 and BOT_REFUSAL in response.text
    assert not Case.objects.exists()


# --- Tokens --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tracking_tokens_are_long_random_and_distinct():
    tokens = [CaseFactory().followers.get().token for _ in range(20)]
    assert len(set(tokens)) == 20
    assert all(len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_\-]+", token) for token in tokens)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["tracking", "feedback"])
def test_the_database_never_compares_a_whole_token(kind):
    """Only the token's selector goes to the database; the rest is compared in constant time
    in Python, so timing cannot reveal a token character by character."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from insights.services import open_feedback

    case = CaseFactory()
    if kind == "tracking":
        token, lookup = case.followers.get().token, selectors.follower_by_token
    else:
        token = Feedback.objects.create(
            case=case, email="kim@example.se", expires_at=timezone.now() + dt.timedelta(days=60)
        ).token
        lookup = open_feedback
    near_miss = token[:-1] + ("A" if token[-1] != "A" else "B")

    with CaptureQueriesContext(connection) as queries:
        assert lookup(token) is not None
        assert lookup(near_miss) is None
    # LIKE escapes "_" and "-" with backslashes; drop them to read the searched text
    sql = " ".join(query["sql"] for query in queries.captured_queries).replace("\\", "")
    assert token[:12] in sql
    assert token not in sql and near_miss not in sql


@pytest.mark.django_db
def test_wrong_revoked_and_malformed_tokens_all_look_the_same(client):
    follower = CaseFactory().followers.get()
    revoked = CaseFollower.objects.create(case=follower.case, name="X", email="x@example.se")
    CaseFollower.objects.filter(pk=revoked.pk).update(revoked_at="2026-01-01T00:00Z")
    bodies = set()
    for token in ["C" * 43, revoked.token, follower.token[:-1] + "x"]:
        response = client.get(reverse("cases_public:tracking", args=[token]))
        assert response.status_code == 404
        # the same page whatever the token (the token itself only in the language form)
        bodies.add(re.sub(r'value="[^"]*"', "", response.content.decode().replace(token, "")))
    assert client.get("/arende/kort/").status_code == 404
    assert len(bodies) == 1  # nothing tells a wrong token from a revoked one


@pytest.mark.django_db
def test_tokens_never_reach_the_logs(client):
    """Neither a tracking page, a wrong token's 404 nor a reply writes the token to any log."""
    follower = CaseFactory().followers.get()
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("django.request")]
    loggers += [logging.getLogger("django.server")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        client.get(reverse("cases_public:tracking", args=[follower.token]))
        client.post(
            reverse("cases_public:tracking_message", args=[follower.token]), {"body": "Hej"}
        )
        client.get(reverse("cases_public:tracking", args=["D" * 43]))
        client.post(reverse("cases_public:tracking_message", args=["D" * 43]), {"body": "Hej"})
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert not [r for r in records if follower.token in r or "D" * 43 in r]
    assert logging.getLogger("django.request").getEffectiveLevel() >= logging.ERROR


def test_bench_servers_run_without_an_access_log():
    """gunicorn's access log would print the request line, tokens included."""
    for script in (ROOT / "bench").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        if "gunicorn" in text:
            assert "access-log" not in text and "--access-logfile" not in text, script


@pytest.mark.django_db
def test_tracking_page_keeps_its_referrer_on_site_and_noindex(client):
    token = CaseFactory().followers.get().token
    response = client.get(reverse("cases_public:tracking", args=[token]))
    # same-origin: the token never goes to other sites, and Chromium still sends the Origin
    # that the CSRF check of the page's own forms needs.
    assert response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_refused_form_gets_the_portals_own_swedish_page_and_nothing_is_saved():
    """A stale or missing CSRF token: the portal's page says what happened and links back."""
    from django.test import Client

    token = CaseFactory().followers.get().token
    page = reverse("cases_public:tracking", args=[token])
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        reverse("cases_public:tracking_message", args=[token]),
        {"body": "Hej"},
        HTTP_REFERER="http://testserver" + page,
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "Formuläret kunde inte skickas" in html and "Ingenting har sparats." in html
    assert f'href="http://testserver{page}"' in html
    assert '<html lang="sv">' in html
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_refused_form_page_never_links_to_another_site():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        reverse("cases_public:ask"), {}, HTTP_REFERER="https://evil.example/x"
    )
    assert response.status_code == 403
    assert "evil.example" not in response.content.decode()


# --- Content Security Policy ---------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def assert_csp_clean(response, where):
    policy = response.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy, where
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), f"inline script on {where}"
    assert not EVENT_HANDLER.search(html), f"on*= handler on {where}"
    found = STYLE_ATTRIBUTE.search(html)
    assert not found, f"style attribute (blocked by style-src 'self') on {where}: {found[0]}"


@pytest.mark.django_db
def test_public_pages_send_csp_and_contain_no_inline_script_or_style(client, norrtalje):
    follower = CaseFactory().followers.get()
    pages = [
        "/",
        "/fraga/",
        "/ansvar/",
        "/tillganglighet/",
        "/personuppgifter/",
        "/konto/logga-in/",
    ]
    pages.append(reverse("cases_public:tracking", args=[follower.token]))
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_csp_clean(response, url)
    invalid = client.post(reverse("cases_public:ask"), {"email": "x"})
    assert_csp_clean(invalid, "the form with errors")
    assert_csp_clean(client.get("/finns-inte/"), "404")


@pytest.mark.django_db
def test_staff_pages_contain_no_inline_script_or_style(client, norrtalje):
    from tests.test_url_protection import SAMPLE, all_urls

    unit = DepartmentFactory(slug="bygglovsenheten")
    owner = officer(unit, username="agare")
    case = CaseFactory(owning_department=unit, owner=owner)
    Message.objects.create(case=case, kind="internal", author=owner, body="Intern")
    from tests.factories import coordinator

    client.force_login(coordinator())
    checked = 0
    for url, name, _callback in all_urls():
        if name.split(":")[0] not in {"staff", "records", "insights", "meetings"}:
            continue
        if re.search(r"/1(/|$)|\.csv|\.ics", url):
            continue
        url = url.replace(SAMPLE["reference"], case.reference)
        response = client.get(url)
        if response.status_code == 200 and "html" in response["Content-Type"]:
            assert_csp_clean(response, url)
            checked += 1
    assert checked >= 5


def test_templates_have_no_inline_script_handlers_or_style_attributes():
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE):
            if pattern.search(text):
                offenders.append(str(template.relative_to(ROOT)))
    assert not offenders, offenders


# --- Hostile input -------------------------------------------------------------------------

HOSTILE = {
    "script": '<script>alert("x")</script><img src=x onerror=alert(1)>',
    # 10 000 characters in words. (One 10 000-character *word* takes minutes in the router's
    # compound splitting: reported to routing; not run here to keep the suite fast.)
    "long": "Åsa " * 2_500,
    "control": "rad1\r\nBcc: evil@example.com\r\n\x1b[31m\x07\x08slut",
    "rtl": "\u202egnp.exe\u202c faktura \u200f\u2066",
    "sql": "'; DROP TABLE cases_case; -- \" OR 1=1 /* */",
    "emoji": "😀" * 10_000,
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_text_through_the_form_and_tracking_reply_is_stored_escaped_and_mailed_safely(
    client, norrtalje, kind, django_capture_on_commit_callbacks
):
    text = HOSTILE[kind]
    short = text[:150]
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_question(
            client,
            company_name=short,
            contact_name=short,
            subject=short.replace("\r", " ").replace("\n", " ")[:200] or "x",
            description=text,
        )
    assert response.status_code in (200, 302)
    if response.status_code == 200:  # refused with a message at a field, nothing saved
        assert response.context["form"].errors and not Case.objects.exists()
        return
    case = Case.objects.get()
    assert case.description == text.strip()
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert" not in html and "<img src=x onerror" not in html
    if kind == "script":
        assert "&lt;script&gt;" in html

    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(
            reverse("cases_public:tracking_message", args=[case.followers.get().token]),
            {"body": text},
        )
    assert reply.status_code in (200, 302)
    assert "<script>alert" not in client.get(response["Location"]).content.decode()

    assert mail.outbox
    for message in mail.outbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert "\u202e" not in message.subject
        parsed = message.message()
        assert parsed["Bcc"] is None and "evil@example.com" not in str(parsed["To"])
        assert message.to and all("\n" not in to for to in message.to)
    assert not OutgoingEmail.objects.filter(status="failed").exists()


@pytest.mark.django_db
def test_null_characters_are_refused_with_a_message(client, norrtalje):
    response = submit_question(client, description="Hej\x00då")
    assert response.status_code == 200 and response.context["form"].errors["description"]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_header_injection_in_the_e_mail_address_is_refused(client, norrtalje):
    response = submit_question(client, email="a@example.se\r\nBcc: evil@example.com")
    assert response.status_code == 200 and "email" in response.context["form"].errors
    assert not Case.objects.exists()


# --- Login, sessions, passwords, single sign-on --------------------------------------------


@pytest.mark.django_db
def test_sixth_wrong_password_locks_out_with_a_swedish_page(client):
    UserFactory(username="handlaggare", password="ett-riktigt-bra-losenord")
    url = reverse("login")
    for _ in range(5):
        client.post(url, {"username": "handlaggare", "password": "fel-losenord-123"})

    response = client.post(url, {"username": "handlaggare", "password": "ett-riktigt-bra-losenord"})

    assert response.status_code in (403, 429)
    assert "För många inloggningsförsök" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_session_ends_after_inactivity_but_activity_keeps_it(client, settings, time_machine):
    time_machine.move_to("2026-11-02 09:00:00+01:00", tick=False)
    user = officer(DepartmentFactory(), username="aktiv")
    client.force_login(user)
    home = reverse("staff:home")
    age = settings.SESSION_COOKIE_AGE

    time_machine.shift(age - 60)
    assert client.get(home).status_code == 200  # active: extended
    time_machine.shift(age - 60)
    assert client.get(home).status_code == 200
    time_machine.shift(age + 1)
    response = client.get(home)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def _session_writes(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return sum(
        1
        for q in queries.captured_queries
        if "django_session" in q["sql"] and q["sql"].lstrip().startswith(("UPDATE", "INSERT"))
    )


@pytest.mark.django_db
def test_the_session_row_is_rewritten_only_when_a_refresh_is_due(client, settings, time_machine):
    """Not on every request: once SESSION_REFRESH_SECONDS have passed since the last write.
    Steady activity keeps the session; it ends SESSION_COOKIE_AGE after the last write."""
    time_machine.move_to("2026-11-02 09:00:00+01:00", tick=False)
    settings.SESSION_COOKIE_AGE, settings.SESSION_REFRESH_SECONDS = 3600, 300
    client.force_login(officer(DepartmentFactory(), username="aktiv"))
    home = reverse("staff:home")

    assert _session_writes(client, home) == 0  # saved at login a moment ago
    time_machine.shift(299)
    assert _session_writes(client, home) == 0
    time_machine.shift(1)
    assert _session_writes(client, home) == 1  # due: the expiry moves to an hour from now
    for _ in range(20):  # working for 100 minutes, a request every 5
        time_machine.shift(300)
        assert client.get(home).status_code == 200
    time_machine.shift(3600 - 1)
    assert _session_writes(client, home) == 1  # still signed in, and extended
    time_machine.shift(3600 + 1)
    response = client.get(home)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_passwords_need_twelve_characters_and_not_a_common_one():
    user = UserFactory(username="ny")
    for weak in ["kort-123", "password1234", "123456789012"]:
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    validate_password("Roslagen-hamn-2026!", user)


def _run(code, **env_vars):
    env = {**os.environ, **env_vars}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


OIDC_ENV = {
    "DJANGO_SETTINGS_MODULE": "foretagslots.settings",
    "OIDC_RP_CLIENT_ID": "foretagslotsen",
    "OIDC_RP_CLIENT_SECRET": "hemligt",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://idp.norrtalje.se/auth",
    "OIDC_OP_TOKEN_ENDPOINT": "https://idp.norrtalje.se/token",
    "OIDC_OP_USER_ENDPOINT": "https://idp.norrtalje.se/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://idp.norrtalje.se/jwks",
}
SHOW = (
    "import django; django.setup(); from django.conf import settings; "
    "from django.urls import reverse, resolve; "
    "print(settings.OIDC_ENABLED, settings.AUTHENTICATION_BACKENDS[-1]); "
    "url = reverse('oidc_authentication_init'); "
    "print(url, getattr(resolve(url).func, 'login_required', True))"
)


def test_single_sign_on_is_off_by_default_and_on_with_the_environment(tmp_path):
    off = _run(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.OIDC_ENABLED, 'foretagslots.oidc.PortalOIDCBackend' in "
        "settings.AUTHENTICATION_BACKENDS)",
        DJANGO_SETTINGS_MODULE="foretagslots.settings",
        OIDC_RP_CLIENT_ID="",
    )
    assert off.stdout.split() == ["False", "False"], off.stderr

    on = _run(SHOW, **OIDC_ENV)
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == [
        "True",
        "foretagslots.oidc.PortalOIDCBackend",
        "/oidc/authenticate/",
        "False",
    ]
    check = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, **OIDC_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'o.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.django_db
def test_single_sign_on_maps_to_existing_active_users_by_e_mail_only(settings):
    from foretagslots.oidc import PortalOIDCBackend

    for name, value in OIDC_ENV.items():
        setattr(settings, name, value)
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_CREATE_USER = False
    known = UserFactory(username="anna", email="Anna.Lind@norrtalje.se")
    UserFactory(username="slutat", email="slutat@norrtalje.se", is_active=False)
    backend = PortalOIDCBackend()

    def sign_in(claims):
        with mock.patch.object(backend, "get_userinfo", return_value=claims):
            return backend.get_or_create_user("access", "id", {})

    assert sign_in({"email": "anna.lind@norrtalje.se"}) == known
    assert sign_in({"email": "ny@norrtalje.se"}) is None
    assert sign_in({"email": "slutat@norrtalje.se"}) is None
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(email="ny@norrtalje.se").exists()
    with pytest.raises(Exception):  # noqa: B017 - SuspiciousOperation: claims refused
        sign_in({"email": "anna.lind@norrtalje.se", "email_verified": False})


# --- Error pages -------------------------------------------------------------------------


def test_500_page_renders_without_a_database():
    # no django_db mark: any database access here raises
    html = get_template("500.html").render()
    assert '<html lang="sv">' in html and "Något gick fel" in html


@pytest.mark.django_db
def test_404_and_403_pages_are_swedish(client):
    assert "Sidan finns inte" in client.get("/finns-inte/").content.decode()
    unit = DepartmentFactory()
    case = CaseFactory(owning_department=unit)
    client.force_login(officer(unit, username="o1"))
    response = client.get(reverse("records:case_audit_log", args=[case.reference]))
    assert response.status_code == 403 and "behörighet" in response.content.decode()


@pytest.mark.django_db
def test_429_page_is_swedish_and_accessible(rf):
    request = rf.get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = ratelimit.too_many_requests(request, 90)
    html = response.content.decode()
    assert response.status_code == 429 and response["Retry-After"] == "90"
    assert "Vänta 2 minuter" in html and '<main id="main"' in html
