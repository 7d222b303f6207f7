"""Request guards that answer odd or unsafe requests before the views see them.

- `HostileInputMiddleware`: a NUL byte in the path or query string (PostgreSQL cannot compare
  or store one, and no link contains it) or a form body in another charset than UTF-8 answers
  400 instead of reaching a view; a body larger than REQUEST_BODY_MAX_BYTES answers 413. (NUL
  in form fields is refused by the forms themselves, with a message.)
- `PrivateCacheMiddleware`: staff pages and exports (and the company's tracking pages) are
  never stored by browsers or proxies: `Cache-Control: private, no-store`.
- `SessionRefreshMiddleware`: a session in use is saved (its idle expiry pushed forward) when
  SESSION_REFRESH_SECONDS have passed since it was last saved, instead of on every request.
"""

import time
from http import HTTPStatus

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_UTF8 = {"", "utf-8", "utf8", "us-ascii", "ascii"}


def plain_error_page(template: str, status: int) -> HttpResponse:
    """A self-contained error page (no database, no session, no context processors)."""
    return HttpResponse(render_to_string(template), status=status)


def _refused(request, template: str, status: int) -> HttpResponse:
    """The error page, or for the API the same refusal as RFC 9457 problem details."""
    if request.path.startswith("/api/"):
        body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
        return JsonResponse(body, status=status, content_type="application/problem+json")
    return plain_error_page(template, status)


class HostileInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    def _refusal(self, request):
        limit = getattr(settings, "REQUEST_BODY_MAX_BYTES", 0)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refused(request, "400.html", 400)
        if limit and length > limit:
            return _refused(request, "413.html", 413)
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "\x00" in query or "%00" in query:
            return _refused(request, "400.html", 400)
        if request.method in ("POST", "PUT", "PATCH") and request.content_type in _FORM_TYPES:
            charset = (request.content_params.get("charset") or "").strip().lower()
            if charset not in _UTF8:
                return _refused(request, "400.html", 400)
        return None


class PrivateCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        prefixes = getattr(settings, "PRIVATE_PATH_PREFIXES", ())
        if request.path.startswith(tuple(prefixes)):
            patch_cache_control(response, private=True, no_store=True)
        return response


def session_saved_now(sender, request, **_kwargs) -> None:
    """At login the session is new and about to be saved: note it, so that the next request
    need not save it again (a receiver of user_logged_in, connected in ForetagslotsConfig)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SessionRefreshMiddleware.KEY] = int(time.time())


class SessionRefreshMiddleware:
    """Keeps an active session alive without writing its row on every request (what
    SESSION_SAVE_EVERY_REQUEST would do). The time of the last save is kept in the session;
    a request that uses a non-empty session marks it modified (so SessionMiddleware saves it
    with a new expiry, SESSION_COOKIE_AGE from now) when that was SESSION_REFRESH_SECONDS or
    more ago, or when the session is being saved anyway. Listed after SessionMiddleware, so it
    runs before SessionMiddleware's response handling."""

    KEY = "_saved_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.accessed or session.is_empty():
            return response
        now = int(time.time())
        if session.modified or now - session.get(self.KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
            session[self.KEY] = now
        return response
