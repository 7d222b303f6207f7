"""Reads for pages: a fixed number of queries whatever the size of a case."""

from dataclasses import dataclass

from django.db.models import Q

from cases.deadlines import add_working_days
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
    messages = list(
        case.messages.exclude(kind=Message.Kind.INTERNAL)
        .exclude(is_confidential=True)
        .prefetch_related("attachments")
    )
    shown = {message.pk for message in messages}
    # A company's message is shown once, as itself: not also as the event that records it.
    entries = [
        TimelineEntry(e.created_at, event=e)
        for e in events
        if not (
            e.kind == CaseEvent.Kind.COMPANY_REPLIED and (e.data or {}).get("message_id") in shown
        )
    ]
    entries += [TimelineEntry(m.created_at, message=m) for m in messages]
    entries.sort(key=lambda entry: entry.created_at)
    return entries


def case_areas(case: Case):
    return [ca.area for ca in CaseArea.objects.filter(case=case).select_related("area")]


def public_final_answer(case: Case) -> Message | None:
    """On a closed case, the final answer the company got (the latest, after a reopening)."""
    if case.is_open:
        return None
    return (
        case.messages.filter(is_final_answer=True, is_confidential=False)
        .exclude(kind=Message.Kind.INTERNAL)
        .order_by("-created_at", "-pk")
        .first()
    )


def completion_estimates(case: Case, areas) -> list[tuple[str, object]]:
    """Per area, when the case is expected to be done there, if the areas' times differ; the
    case's own date (due_at) covers the slowest of them."""
    if not case.is_open or len({area.resolution_days for area in areas}) < 2:
        return []
    return [
        (area.local_name, add_working_days(case.received_at, area.resolution_days))
        for area in sorted(areas, key=lambda area: area.resolution_days)
    ]


def public_attachment(follower: CaseFollower, attachment_id: int):
    """An attachment the company may download through this follower's link, or None: on the
    follower's case, on a message the company sees (or its own question), scanned clean."""
    from cases.models import Attachment

    return (
        Attachment.objects.filter(
            pk=attachment_id,
            case_id=follower.case_id,
            scan_status=Attachment.Scan.CLEAN,
            removed_at__isnull=True,
        )
        .filter(
            Q(message__isnull=True)
            | (~Q(message__kind=Message.Kind.INTERNAL) & Q(message__is_confidential=False))
        )
        .first()
    )


def question_attachments(case: Case) -> list:
    """The files sent with the question itself."""
    return list(case.attachments.filter(message__isnull=True))
