"""Template helpers for the officers' workspace."""

from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from cases.deadlines import readable_date
from cases.models import CaseEvent

register = template.Library()

_REFERENCE = "__reference__"


@lru_cache(maxsize=8)
def _case_url_pattern(script_prefix: str) -> str:
    return reverse("staff:case_detail", args=[_REFERENCE])  # under the current script prefix


@register.filter
def staff_case_url(case) -> str:
    """The case page's URL, as `{% url 'staff:case_detail' case.reference %}` gives it, with
    the URL pattern reversed once per process instead of once per row (a list of 25 cases
    spent a third of its table in reverse())."""
    reference = quote(case.reference, safe="!$&'()*+,;=~:@")
    return _case_url_pattern(get_script_prefix()).replace(_REFERENCE, reference)


def _actor(event: CaseEvent) -> str:
    if event.actor is None:
        via = (event.data or {}).get("via") or {}
        if via.get("api_client"):
            return _("API-klienten %(name)s") % {"name": via["api_client"]}
        return _("Systemet")
    return event.actor.get_full_name() or event.actor.username


def staff_text(event: CaseEvent) -> str:
    """One readable Swedish line for each kind of event, as officers see it."""
    data = event.data or {}
    kinds = CaseEvent.Kind
    who = _actor(event)
    kind = event.kind
    if kind == kinds.CREATED:
        channel = data.get("channel", "")
        return _("Ärendet registrerades (kanal: %(channel)s).") % {
            "channel": _channel_label(channel)
        }
    if kind == kinds.ROUTED:
        text = _("Fördelades till %(department)s.") % {"department": data.get("department", "")}
        if data.get("needs_triage"):
            text += " " + _("Osäker bedömning: ska sorteras.")
        return text
    if kind == kinds.AREAS_CHANGED:
        return _("%(who)s ändrade områden från %(old)s till %(new)s.") % {
            "who": who,
            "old": ", ".join(data.get("old_names") or data.get("old") or []) or "–",
            "new": ", ".join(data.get("new_names") or data.get("new") or []) or "–",
        }
    if kind == kinds.CLAIMED:
        if data.get("contribution"):
            return _("%(who)s tog begäran om underlag för %(department)s.") % {
                "who": who,
                "department": data.get("department", ""),
            }
        return _("%(who)s tog ärendet och är helhetsansvarig.") % {"who": who}
    if kind == kinds.ASSIGNED:
        if data.get("automatic"):
            return _("%(owner)s blev helhetsansvarig vid fördelningen.") % {
                "owner": data.get("owner", "")
            }
        return _("%(who)s utsåg %(owner)s till helhetsansvarig.") % {
            "who": who,
            "owner": data.get("owner", ""),
        }
    if kind == kinds.TRANSFER_OFFERED:
        return _("%(who)s erbjöd %(to)s att ta över ärendet. Skäl: %(reason)s") % {
            "who": who,
            "to": data.get("to", ""),
            "reason": data.get("reason", ""),
        }
    if kind == kinds.TRANSFER_ACCEPTED:
        return _("%(department)s tog över ärendet. %(owner)s är nu helhetsansvarig.") % {
            "department": data.get("department", ""),
            "owner": data.get("owner", ""),
        }
    if kind == kinds.TRANSFER_DECLINED:
        text = _("%(who)s på %(department)s avböjde överlämningen. Skäl: %(reason)s") % {
            "who": who,
            "department": data.get("department", ""),
            "reason": data.get("reason", ""),
        }
        if data.get("suggested"):
            text += " " + _("Föreslår %(unit)s.") % {"unit": data["suggested"]}
        return text
    if kind == kinds.TRANSFER_WITHDRAWN:
        return _("Överlämningen till %(to)s återtogs.") % {"to": data.get("to", "")}
    if kind == kinds.CONTRIBUTION_REQUESTED:
        text = _("%(who)s bad %(department)s om underlag senast %(due)s: %(question)s") % {
            "who": who,
            "department": data.get("department", ""),
            "due": readable_date(data.get("due_on", "")),
            "question": data.get("question", ""),
        }
        if data.get("after_case_due"):
            text += " " + _("(Svarsdatumet ligger efter ärendets egen tidsgräns.)")
        return text
    if kind == kinds.CONTRIBUTION_ANSWERED:
        return _("%(who)s på %(department)s lämnade underlag: %(text)s") % {
            "who": who,
            "department": data.get("department", ""),
            "text": data.get("text", ""),
        }
    if kind == kinds.REPLIED:
        return _("%(who)s svarade företaget.") % {"who": who}
    if kind == kinds.NOTE_ADDED:
        return _("%(who)s skrev en intern anteckning.") % {"who": who}
    if kind == kinds.WAITING_FOR_COMPANY:
        return _("%(who)s begärde komplettering. Ärendet väntar på företaget.") % {"who": who}
    if kind == kinds.COMPANY_REPLIED:
        if data.get("via") == "email":
            text = _("%(author)s svarade via e-post.") % {"author": data.get("author", "")}
        else:
            text = _("%(author)s skrev i ärendet.") % {"author": data.get("author", "")}
        if data.get("resumed"):
            text += " " + _("Ärendet är åter under handläggning.")
        return text
    if kind == kinds.CLOSED:
        return _("%(who)s avslutade ärendet med slutligt svar.") % {"who": who}
    if kind == kinds.REOPENED and data.get("via") == "email":
        return _("Ärendet öppnades igen när företaget svarade via e-post.")
    if kind == kinds.REOPENED:
        return _("%(who)s öppnade ärendet igen. Skäl: %(reason)s") % {
            "who": who,
            "reason": data.get("reason", ""),
        }
    if kind == kinds.DEADLINE_EXTENDED:
        return _("%(who)s ändrade tidsgränsen till %(date)s. Skäl: %(reason)s") % {
            "who": who,
            "date": readable_date(data.get("new_due", "")),
            "reason": data.get("reason", ""),
        }
    if kind == kinds.FOLLOWER_ADDED:
        return _("%(name)s följer nu ärendet (inbjuden av %(by)s).") % {
            "name": data.get("name", ""),
            "by": data.get("added_by", ""),
        }
    if kind == kinds.REMINDER_SENT:
        return _("Påminnelse skickades till %(to)s.") % {
            "to": data.get("to") or data.get("recipient") or _("ansvarig")
        }
    if kind == kinds.ESCALATED:
        return _("Ärendet eskalerades till %(to)s.") % {
            "to": data.get("to") or data.get("recipient") or _("chef")
        }
    if kind == kinds.CONFIDENTIALITY_CHANGED:
        return _("%(who)s ändrade sekretessmarkeringen.") % {"who": who}
    if kind == kinds.VIEWED:
        return _("%(who)s öppnade ärendet.") % {"who": who}
    if kind == kinds.EXPORTED:
        return _("%(who)s lämnade ut ärendet.") % {"who": who}
    if kind == kinds.ANONYMISED:
        return _("Personuppgifter i ärendet gallrades.")
    if kind == kinds.FEEDBACK_RECEIVED:
        return _("Företaget lämnade omdöme.")
    if kind == kinds.MEETING_BOOKED:
        return _("Ärendet togs upp till ett lotsmöte.")
    if kind == kinds.MEETING_MINUTES:
        return _("Minnesanteckningar från lotsmötet lades till.")
    if kind == kinds.EXTERNAL_REFERENCE_SET:
        return _("%(who)s angav ärendets nummer i %(system)s: %(reference)s.") % {
            "who": who,
            "system": data.get("system", ""),
            "reference": data.get("reference", ""),
        }
    return event.get_kind_display()


def _channel_label(channel: str) -> str:
    from cases.models import Case

    try:
        return Case.Channel(channel).label
    except ValueError:
        return channel


@register.simple_tag
def staff_event_text(event):
    return format_html('<p class="mb-0 pre-line">{}</p>', staff_text(event))


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username
