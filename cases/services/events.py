from contextlib import contextmanager
from contextvars import ContextVar

from cases.models import Case, CaseEvent

# Who, other than a logged-in user, is behind the events recorded now: e.g. an API client.
# Set by the caller (the API), so that cases need not know about it.
_recorded_via: ContextVar[dict | None] = ContextVar("recorded_via", default=None)


@contextmanager
def recorded_via(**source):
    """Every event recorded inside the block names `source` under data["via"]."""
    token = _recorded_via.set(source)
    try:
        yield
    finally:
        _recorded_via.reset(token)


def record_event(
    case: Case, kind: str, *, actor=None, data: dict | None = None, public: bool = False
) -> CaseEvent:
    """Append to the case's timeline. `public` events are shown to the company."""
    data = dict(data or {})
    via = _recorded_via.get()
    if via:
        data["via"] = via
    return CaseEvent.objects.create(case=case, kind=kind, actor=actor, data=data, is_public=public)
