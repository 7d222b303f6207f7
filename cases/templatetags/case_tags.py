import datetime
from functools import lru_cache

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from cases.deadlines import readable_date, working_days_between
from cases.models import Case, CaseEvent

register = template.Library()
register.filter("readable_date", readable_date)


@register.filter
def local_date(value, fmt):
    """The date filter, with month abbreviations as the language writes them: "2 dec" in
    Swedish (Django's "M" capitalises them: "2 Dec"), "2 Dec" in English."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    if (get_language() or "sv").startswith("sv"):
        fmt = fmt.replace("M", "b")
    return date_format(value, fmt)


_STATUS_CLASSES = {
    Case.Status.RECEIVED: "bg-info text-dark",
    Case.Status.IN_PROGRESS: "bg-primary",
    Case.Status.WAITING_FOR_COMPANY: "bg-warning",
    Case.Status.CLOSED: "bg-secondary",
}


@register.simple_tag
def status_badge(case):
    return _status_badge(case.status, get_language())


@lru_cache(maxsize=64)
def _status_badge(status: str, language: str | None) -> str:
    """The badge depends only on the status and the language: built once for each pair."""
    label = Case.Status(status).label if status in Case.Status.values else status
    return format_html(
        '<span class="badge {}">{}</span>', _STATUS_CLASSES.get(status, "bg-secondary"), label
    )


@register.simple_tag
def due_badge(due_on, today=None):
    """ "3 arbetsdagar kvar", "förfaller i dag" or "förfallen sedan 2 arbetsdagar"."""
    if not due_on:
        return ""
    today = today or timezone.localdate()
    left = working_days_between(today, due_on)
    if left > 0:
        text = ngettext("%(n)d arbetsdag kvar", "%(n)d arbetsdagar kvar", left) % {"n": left}
        css = "bg-warning" if left <= 1 else "bg-light text-dark border"
    elif due_on == today or left == 0 and due_on >= today:
        text, css = _("förfaller i dag"), "bg-warning"
    else:
        late = max(1, -left)
        text = ngettext(
            "förfallen sedan %(n)d arbetsdag", "förfallen sedan %(n)d arbetsdagar", late
        ) % {"n": late}
        css = "bg-danger"
    return format_html('<span class="badge {}">{}</span>', css, text)


def _public_text(event: CaseEvent) -> str:
    data = event.data or {}
    kinds = CaseEvent.Kind
    texts = {
        kinds.CREATED: _("Vi har tagit emot din fråga."),
        kinds.ROUTED: _("Frågan har gått till %(department)s.")
        % {"department": data.get("department", "")},
        kinds.ASSIGNED: _("%(owner)s är helhetsansvarig handläggare för ärendet.")
        % {"owner": data.get("owner", "")},
        kinds.CLAIMED: _("%(owner)s är helhetsansvarig handläggare för ärendet.")
        % {"owner": data.get("owner", "")},
        kinds.TRANSFER_ACCEPTED: _(
            "Ärendet har lämnats över till %(department)s. Helhetsansvarig är nu %(owner)s."
        )
        % {"department": data.get("department", ""), "owner": data.get("owner", "")},
        kinds.WAITING_FOR_COMPANY: _("Vi väntar på komplettering från er."),
        kinds.COMPANY_REPLIED: _("%(author)s skrev till handläggaren.")
        % {"author": data.get("author", "")},
        kinds.CLOSED: _("Ärendet är avslutat."),
        kinds.REOPENED: _("Ärendet har öppnats igen."),
        kinds.DEADLINE_EXTENDED: _("Ny tidsgräns: %(date)s. Skäl: %(reason)s")
        % {"date": readable_date(data.get("new_due", "")), "reason": data.get("reason", "")},
        kinds.FOLLOWER_ADDED: _("%(name)s följer nu ärendet.") % {"name": data.get("name", "")},
        kinds.REPLIED: _("Handläggaren svarade."),
        kinds.MEETING_BOOKED: _("Ett lotsmöte är bokat."),
        kinds.MEETING_MINUTES: _("Minnesanteckningar från lotsmötet finns."),
        kinds.FEEDBACK_RECEIVED: _("Tack för ert omdöme."),
    }
    return texts.get(event.kind, event.get_kind_display())


@register.simple_tag
def public_event_text(event):
    return format_html('<p class="mb-0">{}</p>', _public_text(event))


@register.filter
def working_days_left(due_on):
    if not due_on:
        return None
    return working_days_between(timezone.localdate(), due_on)
