"""iCalendar (RFC 5545) text for meeting invitations and cancellations, written by hand.

Times are given in UTC ("Z"), which every calendar client converts to local time, so no
VTIMEZONE block is needed. Lines end in CRLF and are folded at 75 octets.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from meetings.models import LotsMeeting

PRODID = "-//Norrtalje kommun//Foretagslotsen//SV"


def escape_text(value: str) -> str:
    """TEXT value escaping: backslash, semicolon, comma and newlines (RFC 5545 3.3.11)."""
    value = str(value).replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line so no physical line exceeds 75 octets (continuations start with a
    space), never splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = 75 if not out else 74  # continuation lines carry the leading space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _organizer_email() -> str:
    from email.utils import parseaddr

    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "foretagslotsen@norrtalje.se"


def meeting_ics(meeting: LotsMeeting, *, cancel: bool = False, now=None) -> str:
    """The meeting as an iCalendar object: METHOD:REQUEST, or METHOD:CANCEL when cancelled."""
    now = now or timezone.now()
    location = meeting.place or meeting.video_link
    description_parts = [meeting.title]
    if meeting.video_link:
        description_parts.append(f"Videomöte: {meeting.video_link}")
    if meeting.case_id:
        description_parts.append(f"Ärende: {meeting.case.reference}")
    description_parts.append(f"{settings.PUBLIC_BASE_URL.rstrip('/')}/")
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancel else 'REQUEST'}",
        "BEGIN:VEVENT",
        f"UID:{meeting.uid}",
        f"SEQUENCE:{meeting.sequence}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(meeting.starts_at)}",
        f"DTEND:{_utc(meeting.ends_at)}",
        f"SUMMARY:{escape_text(meeting.title)}",
        f"DESCRIPTION:{escape_text(chr(10).join(description_parts))}",
        f"ORGANIZER;CN=Företagslotsen:mailto:{_organizer_email()}",
        f"STATUS:{'CANCELLED' if cancel else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if meeting.video_link:
        lines.append(f"URL:{meeting.video_link}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def ics_attachment(meeting: LotsMeeting, *, cancel: bool = False) -> dict:
    return {
        "filename": "lotsmote.ics",
        "content": meeting_ics(meeting, cancel=cancel),
        "mimetype": "text/calendar",
    }
