"""Reads for pages: a fixed number of queries whatever the size of a case."""

from dataclasses import dataclass

from cases.models import Case, CaseArea, CaseEvent, CaseFollower, Message, find_by_token


def follower_by_token(token: str) -> CaseFollower | None:
    """The follower for a tracking token, or None (the token compared in constant time)."""
    return find_by_token(
        CaseFollower.objects.select_related(
            "case", "case__owner", "case__owning_department", "case__company"
        ).filter(revoked_at__isnull=True, case__anonymised_at__isnull=True),
        token,
    )


@dataclass
class TimelineEntry:
    created_at: object
    event: CaseEvent | None = None
    message: Message | None = None


def public_timeline(case: Case) -> list[TimelineEntry]:
    """What the company sees: public events and messages, never internal notes or anything
    marked as covered by secrecy."""
    events = case.events.filter(is_public=True).exclude(kind=CaseEvent.Kind.VIEWED)
    messages = case.messages.exclude(kind=Message.Kind.INTERNAL).exclude(is_confidential=True)
    entries = [TimelineEntry(e.created_at, event=e) for e in events]
    entries += [TimelineEntry(m.created_at, message=m) for m in messages]
    entries.sort(key=lambda entry: entry.created_at)
    return entries


def case_areas(case: Case):
    return [ca.area for ca in CaseArea.objects.filter(case=case).select_related("area")]
