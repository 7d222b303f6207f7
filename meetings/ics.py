"""iCalendar (RFC 5545) files for meeting invitations and cancellations, built with `icalendar`.

Times are given in UTC ("Z"), which every calendar client converts to local time, so no
VTIMEZONE block is needed. The library escapes text values, ends lines in CRLF and folds them
at 75 octets.
"""

import datetime as dt
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone

from meetings.models import LotsMeeting

PRODID = "-//Norrtalje kommun//Foretagslotsen//SV"


# `icalendar` (~80 modules, ~2.6 MiB) is imported where an invitation is built, not by every
# process that loads the meeting views.


def _organizer():
    from icalendar import vCalAddress, vText

    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "foretagslotsen@norrtalje.se"
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = vText("Företagslotsen")
    return organizer


def meeting_ics(meeting: LotsMeeting, *, cancel: bool = False, now=None) -> str:
    """The meeting as an iCalendar object: METHOD:REQUEST, or METHOD:CANCEL when cancelled."""
    from icalendar import Calendar, Event

    now = now or timezone.now()
    description_parts = [meeting.title]
    if meeting.video_link:
        description_parts.append(f"Videomöte: {meeting.video_link}")
    if meeting.case_id:
        description_parts.append(f"Ärende: {meeting.case.reference}")
    description_parts.append(f"{settings.PUBLIC_BASE_URL.rstrip('/')}/")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", str(meeting.uid))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", meeting.starts_at.astimezone(dt.UTC))
    event.add("dtend", meeting.ends_at.astimezone(dt.UTC))
    event.add("summary", meeting.title)
    event.add("description", "\n".join(description_parts))
    event.add("organizer", _organizer())
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "OPAQUE")
    location = meeting.place or meeting.video_link
    if location:
        event.add("location", location)
    if meeting.video_link:
        event.add("url", meeting.video_link)
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def ics_attachment(meeting: LotsMeeting, *, cancel: bool = False) -> dict:
    return {
        "filename": "lotsmote.ics",
        "content": meeting_ics(meeting, cancel=cancel),
        "mimetype": "text/calendar",
    }
