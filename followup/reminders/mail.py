"""The reminder e-mails: staff reminders to one address grouped into one mail, rendered in
bulk, handed to Celery in batches."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import (
    Case,
    Reminder,
)
from followup.reminders.protocol import Candidate
from outbox.models import OutgoingEmail
from outbox.replies import reply_address
from outbox.services import clean_body, clean_header, publish_or_leave

# E-mail ids handed to one fan-out task (which queues one retrying send task per mail).
EMAIL_BATCH_SIZE = 200


# Staff reminders of these kinds to one address in one sweep go out as one e-mail.
GROUPED_KINDS = frozenset(
    {
        "first_answer_soon",
        "first_answer_overdue",
        "due_soon",
        "overdue",
        "escalate_lead",
        "escalate_coordinator",
        "waiting_owner",
        "unowned",
        "contribution_due",
        "contribution_late",
        "transfer_pending",
    }
)


def _compose(won: list[Candidate]) -> list[tuple[bool, list[Candidate]]]:
    """The e-mails to send: (grouped?, reminders). A staff member with several reminders in
    one sweep gets one mail listing them; other reminders get a mail each."""
    groups: dict[str, list[Candidate]] = {}
    mails: list[tuple[bool, list[Candidate]]] = []
    for c in won:
        if c.kind in GROUPED_KINDS and c.template == f"emails/reminder_{c.kind}":
            groups.setdefault(c.key[2], []).append(c)
        else:
            mails.append((False, [c]))
    mails.extend((len(items) > 1, items) for items in groups.values())
    return mails


def _render_emails(mails: list[tuple[bool, list[Candidate]]]) -> list[OutgoingEmail]:
    won = [c for _grouped, items in mails for c in items]
    case_ids = {c.case_id for c in won if c.case_id is not None}
    user_ids = {c.recipient_id for c in won if c.recipient_id is not None}
    cases = _cases_for_mail(case_ids)
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    emails = []
    base = {"base_url": settings.PUBLIC_BASE_URL}
    templates: dict = {}
    staff_url = settings.PUBLIC_BASE_URL + reverse("staff:case_detail", args=["__REF__"])
    list_base = settings.PUBLIC_BASE_URL + reverse("staff:case_list")

    def render(name: str, context: dict) -> str:
        # Looked up once per sweep: the loader's look-up costs more than rendering.
        if name not in templates:
            templates[name] = get_template(name)
        return templates[name].render(context)

    with translation.override(settings.LANGUAGE_CODE):
        for grouped, items in mails:
            first = items[0]
            recipient = users.get(first.recipient_id)
            entries = []
            for c in items:
                case = cases.get(c.case_id)
                entries.append(
                    {
                        **c.context,
                        "case": case,
                        "due_on": c.due_on,
                        "detail": _detail(c, case),
                        "url": staff_url.replace("__REF__", case["reference"]) if case else "",
                    }
                )
            if grouped:
                sections: dict[str, list] = {}
                for c, entry in zip(items, entries, strict=True):
                    sections.setdefault(c.kind, []).append(entry)
                context = {
                    **base,
                    "recipient": recipient,
                    "count": len(items),
                    "sections": [
                        _section(kind, section, list_base) for kind, section in sections.items()
                    ],
                }
                subject = render("emails/reminders_subject.txt", context)
                body = render("emails/reminders.txt", context)
                kind, case_id = "reminders", None
            else:
                context = {**base, "recipient": recipient, **entries[0], "items": entries}
                subject = render(f"{first.template}_subject.txt", context)
                if first.kind in GROUPED_KINDS:
                    context["sections"] = [{"template": f"{first.template}.txt", "items": entries}]
                    body = render("emails/reminders.txt", context)
                else:
                    body = render(f"{first.template}.txt", context)
                kind = "digest" if first.kind == "digest" else f"reminder_{first.kind}"
                case_id = first.case_id
            emails.append(
                OutgoingEmail(
                    kind=kind,
                    to=first.key[2],
                    subject=clean_header(subject),
                    body=clean_body(body),
                    subject_id=case_id,
                    # A company can answer the reminder by replying (issue 18).
                    reply_to=(
                        reply_address(first.context["follower_id"])
                        if "follower_id" in first.context
                        else ""
                    ),
                )
            )
    return emails


# A section longer than this is summarised: counts per unit, the oldest cases and a link to
# the whole list (a backlog of thousands would otherwise make a mail of megabytes).
SECTION_LIST_LIMIT = 20
_LIST_FILTERS = {
    "unowned": "?status=open&unowned=on",
    "overdue": "?status=open&overdue=on",
    "first_answer_overdue": "?status=open&overdue=on",
    "escalate_lead": "?status=open&overdue=on",
    "escalate_coordinator": "?status=open&overdue=on",
}


def _section(kind: str, entries: list[dict], list_base: str) -> dict:
    """One kind of reminder in a grouped mail; summarised when the list is long."""
    section = {"template": f"emails/reminder_{kind}.txt", "items": entries, "total": len(entries)}
    if len(entries) <= SECTION_LIST_LIMIT:
        return section
    per_unit: dict[str, int] = {}
    for entry in entries:
        case = entry.get("case")
        unit = case["owning_department"]["name"] if case else "–"
        per_unit[unit] = per_unit.get(unit, 0) + 1
    oldest = sorted(
        entries,
        key=lambda e: (
            e["case"]["received_at"] if e.get("case") else dt.datetime.max.replace(tzinfo=dt.UTC)
        ),
    )[:SECTION_LIST_LIMIT]
    section.update(
        items=oldest,
        per_unit=sorted(per_unit.items(), key=lambda pair: (-pair[1], pair[0])),
        list_url=list_base + _LIST_FILTERS.get(kind, "?status=open"),
    )
    return section


def _cases_for_mail(case_ids) -> dict[int, dict]:
    """What the reminder templates show of each case, as plain dicts (one query; model
    instances would cost more than the rendering): case.reference, .subject, .status,
    .received_at, .first_answer_due, .due_at, .waiting_since, .owning_department.name and
    .owner (first_name, last_name, username, full_name) or None."""
    rows = Case.objects.filter(pk__in=case_ids).values(
        "pk",
        "reference",
        "subject",
        "status",
        "received_at",
        "first_answer_due",
        "due_at",
        "waiting_since",
        "owning_department__name",
        "owner_id",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
    )
    cases = {}
    for row in rows:
        owner = None
        if row["owner_id"]:
            full = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            owner = {
                "username": row["owner__username"],
                "first_name": row["owner__first_name"],
                "last_name": row["owner__last_name"],
                "full_name": full or row["owner__username"],
            }
        cases[row["pk"]] = {
            "pk": row["pk"],
            "reference": row["reference"],
            "subject": row["subject"],
            "status": row["status"],
            "received_at": row["received_at"],
            "first_answer_due": row["first_answer_due"],
            "due_at": row["due_at"],
            "waiting_since": row["waiting_since"],
            "owning_department": {"name": row["owning_department__name"]},
            "owner": owner,
        }
    return cases


@lru_cache(maxsize=4096)
def _date(day: dt.date) -> str:
    return date_format(day, "j F Y")


def _detail(c: Candidate, case) -> str:
    """The short text after a case in a staff reminder list (built here, not in the template,
    because a sweep may list thousands)."""
    ctx = c.context
    date = _date(c.due_on) if c.due_on else ""
    days = ctx.get("days")
    if c.kind == "waiting_owner":
        return ngettext("väntat %(n)d arbetsdag", "väntat %(n)d arbetsdagar", days) % {"n": days}
    late = (
        ngettext("försenat sedan %(n)d arbetsdag", "försenat sedan %(n)d arbetsdagar", days)
        % {"n": days}
        if days is not None
        else ""
    )
    if c.kind in ("first_answer_soon", "first_answer_overdue", "due_soon"):
        return _("senast %(date)s") % {"date": date}
    if c.kind == "overdue":
        return late
    if c.kind == "escalate_lead":
        if case is not None and case["owner"] is not None:
            owner = case["owner"]["full_name"]
            return _("%(late)s, helhetsansvarig %(owner)s") % {"late": late, "owner": owner}
        return _("%(late)s, ingen helhetsansvarig") % {"late": late}
    if c.kind == "escalate_coordinator":
        unit = case["owning_department"]["name"] if case else ""
        return f"{unit}, {late}"
    if c.kind == "unowned":
        received = _date(timezone.localtime(case["received_at"]).date()) if case else ""
        unit = case["owning_department"]["name"] if case else ""
        return _("%(unit)s, inkom %(date)s") % {"unit": unit, "date": received}
    if c.kind == "contribution_due":
        return _("%(unit)s senast %(date)s") % {"unit": ctx.get("unit_name", ""), "date": date}
    if c.kind == "contribution_late":
        if ctx.get("after_case_due") and case is not None and case["due_at"]:
            return _(
                "underlaget från %(unit)s ska komma %(date)s, efter ärendets egen tidsgräns "
                "%(case_due)s"
            ) % {
                "unit": ctx.get("unit_name", ""),
                "date": date,
                "case_due": _date(case["due_at"]),
            }
        return _("underlaget från %(unit)s skulle ha kommit senast %(date)s") % {
            "unit": ctx.get("unit_name", ""),
            "date": date,
        }
    if c.kind == "transfer_pending":
        return _("från %(from)s till %(to)s") % {
            "from": ctx.get("from_unit", ""),
            "to": ctx.get("to_unit", ""),
        }
    return ""


def _link_emails(pairs: list[tuple[int, int]]) -> None:
    """Point each Reminder row at its e-mail: one UPDATE on PostgreSQL."""
    if not pairs or pairs[0][1] is None:
        return
    if connection.vendor == "postgresql":
        table = Reminder._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS r SET email_id = v.email_id "  # noqa: S608 (our table name)
                "FROM (SELECT UNNEST(%s::bigint[]) AS id, UNNEST(%s::bigint[]) AS email_id) AS v "
                "WHERE r.id = v.id",
                [[p[0] for p in pairs], [p[1] for p in pairs]],
            )
        return
    Reminder.objects.bulk_update(
        [Reminder(pk=pk, email_id=email_id) for pk, email_id in pairs], ["email"], batch_size=500
    )


def enqueue_emails(email_ids: list[int]) -> None:
    """After commit: hand the mails to Celery in batches; if the broker is down they stay
    pending and the next sweep sends them."""
    from followup.tasks import email_send_batch_task

    for start in range(0, len(email_ids), EMAIL_BATCH_SIZE):
        batch = email_ids[start : start + EMAIL_BATCH_SIZE]
        if not publish_or_leave(email_send_batch_task, (batch,)):
            return
