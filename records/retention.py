"""Disposal (gallring) of personal data after the retention period.

A case closed longer ago than its primary area's `ResponsibilityArea.retention_months`
(default 36; 0 means "bevaras", never disposed of) is anonymised: the contact's name, e-mail
and phone, the followers' names and e-mail (their tracking links stop working), the free text
the company wrote (the case description and its messages), a sole trader's organisation
number (a personnummer), the company people named in events, feedback comments and lots
meeting participant lists, the e-mail log of the case, and the files the company attached
(deleted from storage). Wherever the case's people were copied to – a sole trader's firm
name, meeting titles and notes, e-mail subjects, staff notes and answers – their names, e-mail
addresses, phone numbers and personnummer are scrubbed out (`scrub_text`). What the statistics
need stays:
dates, areas, units, status, counts, subject, the municipality's own answers. Each disposal
is recorded as an ANONYMISED event saying what was done (the gallringsprotokoll), and the
case gets `anonymised_at`. Nothing is deleted; a sweep run twice does nothing the second time.

`retention_sweep()` is run nightly by Celery beat (`retention_sweep_task`) and on demand by
`manage.py gallra [--dry-run]`.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from celery import shared_task
from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseFollower, Company, Message, new_token
from cases.orgnr import is_personal_identity_number
from cases.services.attachments import attachments_remove
from cases.services.events import record_event

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_MONTHS = 36
REMOVED = "[gallrad]"
REMOVED_NAME = "[gallrad]"
REMOVED_EMAIL = "gallrad@gallrad.invalid"
# Keys of CaseEvent.data that hold names of people at the company.
PERSONAL_EVENT_KEYS = ("name", "added_by", "author", "email", "contact_name", "to_email")


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Swedish phone numbers as people write them: 070-123 45 67, 0176-71000, +46 70 123 45 67.
_PHONE = re.compile(r"(?<![\w\-])(?:\+46|0)[\d\s\-–()]{5,16}\d(?![\w])")
_ID_NUMBER = re.compile(r"(?<![\d\-])(?:\d{2})?\d{6}[\-+]?\d{4}(?![\d])")


@dataclass
class PersonalData:
    """What is known of the people behind one case, to remove wherever it was copied."""

    names: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)

    def pattern(self):
        words = set()
        for name in self.names:
            name = " ".join(name.split())
            if len(name) >= 2 and name not in (REMOVED, REMOVED_NAME):
                words.add(re.escape(name))
                # A person's first and last name on their own, also in the genitive (Annas).
                words |= {re.escape(p) + "s?" for p in re.split(r"[\s\-]+", name) if len(p) >= 3}
        words |= {re.escape(e) for e in self.emails if e and e != REMOVED_EMAIL}
        words |= {re.escape(p) for p in self.phones if p}
        if not words:
            return None
        ordered = sorted(words, key=len, reverse=True)
        return re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)", re.IGNORECASE)


def scrub_text(text: str, pattern) -> str:
    """Free text with the known names, e-mail addresses, phone numbers and personnummer of
    the case's people replaced by "[gallrad]"; the rest of the text stays."""
    if not text:
        return text
    if pattern is not None:
        text = pattern.sub(REMOVED, text)
    text = _EMAIL.sub(REMOVED, text)
    text = _PHONE.sub(REMOVED, text)
    return _ID_NUMBER.sub(
        lambda m: REMOVED if is_personal_identity_number(m.group(0)) else m.group(0), text
    )


def scrub_data(value, pattern):
    """`scrub_text` through a JSON value."""
    if isinstance(value, str):
        return scrub_text(value, pattern)
    if isinstance(value, list):
        return [scrub_data(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: scrub_data(v, pattern) for k, v in value.items()}
    return value


def _scrub_rows(queryset, fields: list[str], pattern) -> int:
    """Scrub `fields` of every row; returns how many rows changed (one UPDATE per change)."""
    changed = 0
    for row in queryset.values("pk", *fields):
        clean = {f: scrub_data(row[f], pattern) for f in fields}
        clean = {f: v for f, v in clean.items() if v != row[f]}
        if clean:
            queryset.model.objects.filter(pk=row["pk"]).update(**clean)
            changed += 1
    return changed


@dataclass
class Disposal:
    """What the sweep did (or would do) to one case."""

    case_id: int
    reference: str
    closed_at: datetime
    retention_months: int
    done: list[str] = field(default_factory=list)


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock moment `months` calendar months earlier (day clamped)."""
    return moment - relativedelta(months=months)


def due_for_disposal(*, now: datetime | None = None):
    """Closed, not yet anonymised cases whose retention period has run out, by area."""
    now = now or timezone.now()
    candidates = (
        Case.objects.filter(status=Case.Status.CLOSED, anonymised_at__isnull=True)
        .filter(closed_at__isnull=False)
        .select_related("primary_area")
        .order_by("closed_at", "pk")
    )
    # Grouped by retention period so that the query count does not grow with the cases.
    periods = {DEFAULT_RETENTION_MONTHS}
    ResponsibilityArea = apps.get_model("departments", "ResponsibilityArea")
    periods |= set(ResponsibilityArea.objects.values_list("retention_months", flat=True))
    condition = Q(pk__in=[])
    for months in sorted(periods):
        if months <= 0:
            continue  # bevaras: kept for good
        cutoff = months_before(now, months)
        if months == DEFAULT_RETENTION_MONTHS:
            area_matches = Q(primary_area__isnull=True) | Q(primary_area__retention_months=months)
        else:
            area_matches = Q(primary_area__retention_months=months)
        condition |= area_matches & Q(closed_at__lte=cutoff)
    return candidates.filter(condition)


def _retention_months(case: Case) -> int:
    return case.primary_area.retention_months if case.primary_area else DEFAULT_RETENTION_MONTHS


def _scrub_event_data(data: dict) -> tuple[dict, bool]:
    changed = False
    clean = dict(data)
    for key in PERSONAL_EVENT_KEYS:
        if clean.get(key):
            clean[key] = REMOVED_NAME
            changed = True
    return clean, changed


def _plan(case: Case) -> list[str]:
    """What anonymising this case changes, in words for the protocol (and the dry run)."""
    done = ["kontaktuppgifter"]
    followers = case.followers.count()
    if followers:
        done.append(f"{followers} följare (länkar spärrade)")
    messages = case.messages.filter(kind=Message.Kind.FROM_COMPANY).count()
    if messages:
        done.append(f"{messages} meddelanden från företaget")
    done.append("beskrivning")
    files = case.attachments.filter(from_company=True, removed_at__isnull=True).count()
    if files:
        done.append(f"{files} bifogade filer från företaget")
    if case.company.org_number and is_personal_identity_number(case.company.org_number):
        done.append("personnummer (enskild firma)")
    return done


@transaction.atomic
def anonymise_case(*, case_id: int, now: datetime | None = None) -> Disposal | None:
    """Anonymise one case (locked); None if it is no longer due (reopened, already done)."""
    now = now or timezone.now()
    case = (
        Case.objects.select_for_update()
        .filter(pk=case_id, status=Case.Status.CLOSED, anonymised_at__isnull=True)
        .first()
    )
    if case is None:
        return None
    case = Case.objects.select_related("primary_area", "company").get(pk=case.pk)
    disposal = Disposal(case.pk, case.reference, case.closed_at, _retention_months(case))
    disposal.done = _plan(case)
    pattern = _personal_data(case).pattern()

    case.contact_name = REMOVED_NAME
    case.contact_email = REMOVED_EMAIL
    case.contact_phone = ""
    case.description = REMOVED
    # The name the person typed: a sole trader's is their own; any other is scrubbed of people.
    if _is_sole_trader(case.company):
        case.company_name_typed = REMOVED_NAME
    else:
        case.company_name_typed = scrub_text(case.company_name_typed, pattern)
    case.anonymised_at = now
    case.save(
        update_fields=[
            "company_name_typed",
            "contact_name",
            "contact_email",
            "contact_phone",
            "description",
            "anonymised_at",
            "updated_at",
        ]
    )
    # Revoked, and the old tokens replaced so that they can never match again.
    for follower_id in CaseFollower.objects.filter(case=case).values_list("pk", flat=True):
        CaseFollower.objects.filter(pk=follower_id).update(
            name=REMOVED_NAME, email=REMOVED_EMAIL, revoked_at=now, token=new_token()
        )
    Message.objects.filter(case=case, kind=Message.Kind.FROM_COMPANY).update(
        body=REMOVED, author_name=REMOVED_NAME
    )
    # The company's files are deleted from storage; the rows stay, marked as disposed of.
    attachments_remove(case=case, company_only=True)

    company = case.company
    if company.org_number and is_personal_identity_number(company.org_number):
        _anonymise_sole_trader(company, now)
    # What the municipality wrote stays, with the people's names and numbers taken out.
    changed = _scrub_rows(
        Message.objects.filter(case=case).exclude(kind=Message.Kind.FROM_COMPANY), ["body"], pattern
    )
    changed += _scrub_rows(
        Case.objects.filter(pk=case.pk),
        ["subject", "deadline_note", "routing_explanation"],
        pattern,
    )
    changed += _scrub_rows(case.case_departments.all(), ["question", "contribution"], pattern)
    changed += _scrub_rows(case.transfers.all(), ["reason", "decline_reason"], pattern)
    if changed:
        disposal.done.append("namn och kontaktuppgifter i anteckningar och svar")

    # Names of company people in the timeline (who wrote, who was invited).
    events = list(CaseEvent.objects.filter(case=case).only("pk", "data"))
    for event in events:
        clean, _changed = _scrub_event_data(event.data or {})
        clean = scrub_data(clean, pattern)
        if clean != event.data:
            CaseEvent.objects.filter(pk=event.pk).update(data=clean)

    disposal.done += _anonymise_related(case, pattern)

    record_event(
        case,
        CaseEvent.Kind.ANONYMISED,
        data={
            "done": disposal.done,
            "retention_months": disposal.retention_months,
            "closed_at": case.closed_at.isoformat(),
        },
    )
    return disposal


def _personal_data(case: Case) -> PersonalData:
    people = PersonalData()
    people.names.add(case.contact_name)
    people.emails.add(case.contact_email)
    if case.contact_phone:
        people.phones.add(case.contact_phone)
    for name, email in CaseFollower.objects.filter(case=case).values_list("name", "email"):
        people.names.add(name)
        people.emails.add(email)
    if _is_sole_trader(case.company):
        # A sole trader's firm usually carries the name, as typed and as registered.
        people.names.add(case.company.name)
        people.names.add(case.company_name_typed)
    return people


def _is_sole_trader(company: Company) -> bool:
    return bool(company.org_number) and is_personal_identity_number(company.org_number)


def _anonymise_sole_trader(company: Company, now: datetime) -> None:
    """A sole trader's identifier is a personnummer: remove it, but only once none of the
    company's other cases still needs it (open, or closed within their retention period)."""
    still_needed = company.cases.filter(anonymised_at__isnull=True).exists()
    if still_needed:
        return
    Company.objects.filter(pk=company.pk).update(
        org_number=None, name=REMOVED_NAME, anonymised_at=now
    )


def _anonymise_related(case: Case, pattern) -> list[str]:
    """Personal data about the case kept by other apps: the e-mail log, feedback comments
    and lots meetings (titles, participants, notes)."""
    done = []
    OutgoingEmail = apps.get_model("outbox", "OutgoingEmail")
    emails = OutgoingEmail.objects.filter(subject_id=case.pk)
    # A mail never sent in all the retention period is not sent now.
    emails.filter(status__in=["pending", "sending"]).update(status="failed", lease_until=None)
    _scrub_rows(emails, ["subject"], pattern)
    count = emails.update(to=REMOVED_EMAIL, body=REMOVED, attachments=[], last_error="")
    if count:
        done.append(f"{count} e-postmeddelanden i e-postloggen")
    # Reminders to officers that list this case among others keep the others.
    Reminder = apps.get_model("cases", "Reminder")
    listed = OutgoingEmail.objects.filter(
        pk__in=Reminder.objects.filter(case=case, email__isnull=False).values("email_id")
    ).exclude(subject_id=case.pk)
    _scrub_rows(listed, ["subject", "body"], pattern)
    if apps.is_installed("insights"):
        try:
            Feedback = apps.get_model("insights", "Feedback")
        except LookupError:
            Feedback = None
        if Feedback is not None:
            count = Feedback.objects.filter(case=case).update(email=REMOVED_EMAIL, comment="")
            if count:
                done.append("kommentarer i omdömen")
    if apps.is_installed("meetings"):
        try:
            LotsMeeting = apps.get_model("meetings", "LotsMeeting")
        except LookupError:
            LotsMeeting = None
        if LotsMeeting is not None:
            count = (
                LotsMeeting.objects.filter(case=case)
                .exclude(company_participants="")
                .update(company_participants=REMOVED_NAME)
            )
            if count:
                done.append("deltagare från företaget i lotsmöten")
            done += _scrub_meetings(case, pattern)
    return done


def _scrub_meetings(case: Case, pattern) -> list[str]:
    """Names and numbers of the case's people in the lots meetings about it: the company
    meeting's title ("Lotsmöte: <firm> – …"), notes, agenda items and actions."""
    LotsMeeting = apps.get_model("meetings", "LotsMeeting")
    AgendaItem = apps.get_model("meetings", "AgendaItem")
    ActionItem = apps.get_model("meetings", "ActionItem")
    meeting_ids = set(LotsMeeting.objects.filter(case=case).values_list("pk", flat=True))
    meeting_ids |= set(AgendaItem.objects.filter(case=case).values_list("meeting_id", flat=True))
    meetings = LotsMeeting.objects.filter(pk__in=meeting_ids)
    fields = ["title", "minutes", "decisions", "internal_notes", "cancel_reason"]
    changed = _scrub_rows(meetings, fields, pattern)
    changed += _scrub_rows(
        AgendaItem.objects.filter(meeting_id__in=meeting_ids), ["title", "note"], pattern
    )
    changed += _scrub_rows(
        ActionItem.objects.filter(Q(meeting_id__in=meeting_ids) | Q(case=case)),
        ["title", "description"],
        pattern,
    )
    return ["namn i lotsmöten"] if changed else []


def retention_sweep(*, now: datetime | None = None, dry_run: bool = False) -> list[Disposal]:
    """Anonymise every case due for disposal; with `dry_run` only say what would be done."""
    now = now or timezone.now()
    disposals = []
    due = list(due_for_disposal(now=now).select_related("company"))
    for case in due:
        if dry_run:
            disposal = Disposal(case.pk, case.reference, case.closed_at, _retention_months(case))
            disposal.done = _plan(case)
            disposals.append(disposal)
            continue
        disposal = anonymise_case(case_id=case.pk, now=now)
        if disposal is not None:
            disposals.append(disposal)
    if not dry_run and disposals:
        logger.info("Gallring: %d cases anonymised", len(disposals))
    return disposals


@shared_task(acks_late=True)
def retention_sweep_task() -> int:
    """Nightly gallring (Celery beat, 02:30)."""
    return len(retention_sweep())
