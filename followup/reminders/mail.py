"""The reminder e-mails: staff reminders to one address grouped into one mail (summarised as
it fills, MailBook), rendered once at the end of the sweep, handed to Celery in batches."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.template import Context, Engine
from django.urls import get_urlconf, reverse, set_urlconf
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import (
    Case,
    Reminder,
)
from departments.models import Department
from followup.reminders.protocol import Candidate
from outbox.models import OutgoingEmail
from outbox.replies import reply_address
from outbox.services import clean_body, clean_header, publish_or_leave


@contextmanager
def mail_urls():
    """Resolve links (reverse, {% url %}) through foretagslots.urls_mail, the part of the
    site that mails link to: a sweep does not import the API and the admin to build links."""
    previous = get_urlconf()
    set_urlconf(MAIL_URLCONF)
    try:
        yield
    finally:
        set_urlconf(previous)


MAIL_URLCONF = "foretagslots.urls_mail"


@lru_cache(maxsize=1)
def _engine() -> Engine:
    """The templates of the reminder mails (plain text, `{% load i18n %}` only) through an
    engine of their own: the site's engine imports every app's template tags (REST
    framework's among them) before it renders anything."""
    backend = settings.TEMPLATES[0]
    return Engine(
        dirs=[str(path) for path in backend.get("DIRS", [])],
        app_dirs=backend.get("APP_DIRS", False),
        libraries={"i18n": "django.templatetags.i18n"},
    )


def get_template(name: str):
    """A mail template: `.render(dict)` as with django.template.loader.get_template."""
    return _MailTemplate(_engine().get_template(name))


class _MailTemplate:
    __slots__ = ("template",)

    def __init__(self, template):
        self.template = template

    def render(self, context: dict) -> str:
        return self.template.render(Context(context))


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


GROUPED_TEMPLATES = frozenset(f"emails/reminder_{kind}" for kind in GROUPED_KINDS)


def is_grouped(c: Candidate) -> bool:
    """A staff reminder listed in its recipient's one mail of the sweep (not a mail of its own)."""
    return (
        c.kind in GROUPED_KINDS
        and c.template in GROUPED_TEMPLATES
        and (c.template == f"emails/reminder_{c.kind}")
    )


class _Section:
    """One kind of reminder in a recipient's mail: how many, how many per unit, and the
    SECTION_LIST_LIMIT oldest (all of them while there are no more)."""

    __slots__ = ("total", "per_unit", "kept")

    def __init__(self):
        self.total = 0
        self.per_unit: Counter = Counter()
        self.kept: list[tuple] = []  # (age, key, candidate)

    def add(self, c: Candidate, age: float, department_id) -> None:
        """`age`: when the case came in (seconds since the epoch; infinity without one)."""
        self.total += 1
        self.per_unit[department_id] += 1
        self.kept.append((age, c.key, c))
        if len(self.kept) >= 2 * SECTION_LIST_LIMIT:
            self.kept.sort(key=_by_age)
            del self.kept[SECTION_LIST_LIMIT:]

    def items(self) -> list[Candidate]:
        """In the order of the reminder keys, or the oldest cases first when summarised."""
        if self.total <= SECTION_LIST_LIMIT:
            return [c for _at, _key, c in sorted(self.kept, key=_by_key)]
        return [c for _at, _key, c in sorted(self.kept, key=_by_age)[:SECTION_LIST_LIMIT]]


def _by_age(item):
    return item[0], item[1]


def _by_key(item):
    return item[1]


class _Mail:
    __slots__ = ("email_id", "to", "first", "count", "sections")

    def __init__(self, email_id: int, to: str):
        self.email_id = email_id
        self.to = to
        self.first: tuple | None = None  # (key, candidate) of the first reminder in key order
        self.count = 0
        self.sections: dict[str, _Section] = {}


class MailBook:
    """The staff members' mails of one sweep, filled chunk by chunk: each address gets one
    mail listing all its reminders; what is kept per address does not grow with the backlog
    (a long list is summarised: counts per unit and the oldest cases)."""

    def __init__(self):
        self.mails: dict[str, _Mail] = {}

    def email_id(self, to: str) -> int | None:
        mail = self.mails.get(to)
        return mail.email_id if mail else None

    def open(self, to: str, email_id: int) -> None:
        self.mails[to] = _Mail(email_id, to)

    def add(self, c: Candidate, age: float, department_id) -> None:
        mail = self.mails[c.key[2]]
        mail.count += 1
        if mail.first is None or c.key < mail.first[0]:
            mail.first = (c.key, c)
        section = mail.sections.get(c.kind)
        if section is None:
            section = mail.sections[c.kind] = _Section()
        section.add(c, age, department_id)

    def render(self) -> Iterator[list[OutgoingEmail]]:
        """The mails with something in them, MAIL_CHUNK at a time (ids as reserved)."""
        mails = [mail for mail in self.mails.values() if mail.count]
        units = dict(Department.objects.values_list("pk", "name")) if mails else {}
        for start in range(0, len(mails), MAIL_CHUNK):
            yield _render_book(mails[start : start + MAIL_CHUNK], units)


MAIL_CHUNK = 200


def _render_book(mails: list[_Mail], units: dict[int, str]) -> list[OutgoingEmail]:
    single = [mail for mail in mails if mail.count == 1]
    emails = _render_emails([(False, [mail.first[1]]) for mail in single])
    for mail, email in zip(single, emails, strict=True):
        email.pk = mail.email_id
    grouped = [mail for mail in mails if mail.count > 1]
    if not grouped:
        return emails
    listed = {
        mail.email_id: {kind: section.items() for kind, section in mail.sections.items()}
        for mail in grouped
    }
    shown = [c for sections in listed.values() for items in sections.values() for c in items]
    cases = _cases_for_mail({c.case_id for c in shown if c.case_id is not None})
    user_ids = {mail.first[1].recipient_id for mail in grouped} - {None}
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    staff_url = settings.PUBLIC_BASE_URL + reverse("staff:case_detail", args=["__REF__"])
    list_base = settings.PUBLIC_BASE_URL + reverse("staff:case_list")
    subject_template = get_template("emails/reminders_subject.txt")
    body_template = get_template("emails/reminders.txt")
    with translation.override(settings.LANGUAGE_CODE):
        for mail in grouped:
            sections = []
            for kind in sorted(mail.sections):
                section = mail.sections[kind]
                entries = [
                    _entry(c, cases.get(c.case_id), staff_url) for c in listed[mail.email_id][kind]
                ]
                summary = {
                    "template": f"emails/reminder_{kind}.txt",
                    "items": entries,
                    "total": section.total,
                }
                if section.total > SECTION_LIST_LIMIT:
                    per_unit = Counter()
                    for department_id, n in section.per_unit.items():
                        per_unit[units.get(department_id, "–")] += n
                    summary.update(
                        per_unit=sorted(per_unit.items(), key=lambda pair: (-pair[1], pair[0])),
                        list_url=list_base + _LIST_FILTERS.get(kind, "?status=open"),
                    )
                sections.append(summary)
            context = {
                "base_url": settings.PUBLIC_BASE_URL,
                "recipient": users.get(mail.first[1].recipient_id),
                "count": mail.count,
                "sections": sections,
            }
            emails.append(
                OutgoingEmail(
                    pk=mail.email_id,
                    kind="reminders",
                    to=mail.to,
                    subject=clean_header(subject_template.render(context)),
                    body=clean_body(body_template.render(context)),
                    subject_id=None,
                    reply_to="",
                )
            )
    return emails


def _entry(c: Candidate, case, staff_url: str) -> dict:
    return {
        **c.context,
        "case": case,
        "due_on": c.due_on,
        "detail": _detail(c, case),
        "url": staff_url.replace("__REF__", case["reference"]) if case else "",
    }


def _render_emails(mails: list[tuple[bool, list[Candidate]]]) -> list[OutgoingEmail]:
    """A mail of its own per reminder: (False, [candidate]) each (a company's reminder, a
    plug-in's, or a staff member's only reminder of the sweep)."""
    won = [items[0] for _grouped, items in mails]
    cases = _cases_for_mail({c.case_id for c in won if c.case_id is not None})
    user_ids = {c.recipient_id for c in won if c.recipient_id is not None}
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}
    emails = []
    base = {"base_url": settings.PUBLIC_BASE_URL}
    templates: dict = {}
    staff_url = settings.PUBLIC_BASE_URL + reverse("staff:case_detail", args=["__REF__"])

    def render(name: str, context: dict) -> str:
        # Looked up once per sweep: the loader's look-up costs more than rendering.
        if name not in templates:
            templates[name] = get_template(name)
        return templates[name].render(context)

    with translation.override(settings.LANGUAGE_CODE):
        for first in won:
            entries = [_entry(first, cases.get(first.case_id), staff_url)]
            context = {
                **base,
                "recipient": users.get(first.recipient_id),
                **entries[0],
                "items": entries,
            }
            subject = render(f"{first.template}_subject.txt", context)
            if first.kind in GROUPED_KINDS:
                context["sections"] = [{"template": f"{first.template}.txt", "items": entries}]
                body = render("emails/reminders.txt", context)
            else:
                body = render(f"{first.template}.txt", context)
            emails.append(
                OutgoingEmail(
                    kind="digest" if first.kind == "digest" else f"reminder_{first.kind}",
                    to=first.key[2],
                    subject=clean_header(subject),
                    body=clean_body(body),
                    subject_id=first.case_id,
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
