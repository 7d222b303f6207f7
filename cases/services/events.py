from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models.signals import post_save

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


def event_new(
    case: Case, kind: str, *, actor=None, data: dict | None = None, public: bool = False
) -> CaseEvent:
    """An event not yet saved (see `events_record`). `public` events are shown to the company."""
    data = dict(data or {})
    via = _recorded_via.get()
    if via:
        data["via"] = via
    return CaseEvent(case=case, kind=kind, actor=actor, data=data, is_public=public)


def record_event(
    case: Case, kind: str, *, actor=None, data: dict | None = None, public: bool = False
) -> CaseEvent:
    """Append to the case's timeline. `public` events are shown to the company."""
    event = event_new(case, kind, actor=actor, data=data, public=public)
    event.save()
    return event


def events_announce(events: list[CaseEvent]) -> None:
    """Events saved in bulk (no post_save of their own): whoever listens to saved events (the
    API's webhooks) hears of each one as if it had been saved alone."""
    for event in events:
        post_save.send(
            sender=CaseEvent,
            instance=event,
            created=True,
            update_fields=None,
            raw=False,
            using=event._state.db,
        )
