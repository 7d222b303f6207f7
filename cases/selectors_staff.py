"""Reads for the officers' workspace. Each builds a page in a fixed number of queries,
whatever the number of cases, events or messages."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from cases.filters import CaseFilter
from cases.models import (
    Case,
    CaseArea,
    CaseDepartment,
    CaseEvent,
    Message,
    Reminder,
    Transfer,
)
from cases.permissions import is_coordinator, unit_ids
from outbox.models import OutgoingEmail

# --- Min arbetslista -----------------------------------------------------------------------


@dataclass
class WorkItem:
    """One row of the work list: an own case, a case waiting for the company, a contribution
    request (taken by the user or open to their unit), a transfer offered to their unit or
    an action item."""

    kind: str  # "case", "waiting", "contribution", "unit_contribution", "transfer", "action_item"
    title: str
    url: str
    due_on: dt.date | None
    case: Case | None = None
    part: CaseDepartment | None = None
    transfer: Transfer | None = None
    item: object = None
    waiting_since: dt.date | None = None


# What other apps add to a user's work list (meetings: open action items): each a function
# user -> list[WorkItem], registered in the app's AppConfig.ready.
WORK_SOURCES: list = []


def register_work_source(source) -> None:
    if source not in WORK_SOURCES:
        WORK_SOURCES.append(source)


def next_due(case: Case) -> dt.date | None:
    """What the officer must meet next: the first answer, then the resolution."""
    if case.first_answered_at is None and case.first_answer_due:
        return case.first_answer_due
    return case.due_at


def resumes_on(case: Case) -> dt.date | None:
    """When a case waiting for the company comes back to the officer: the day the company
    is reminded, if it has not answered by then."""
    from cases.deadlines import add_working_days

    if case.waiting_since is None:
        return None
    return add_working_days(timezone.localdate(case.waiting_since), settings.COMPANY_REMINDER_DAYS)


def _sort_key(item: WorkItem):
    return (item.due_on is None, item.due_on or dt.date.max, item.title)


def _case_url(case: Case, anchor: str = "") -> str:
    return reverse("staff:case_detail", args=[case.reference]) + anchor


def work_list(user) -> list[WorkItem]:
    """Everything that waits for the user, soonest due first: their open cases as
    helhetsansvarig (those waiting for the company with the day they come back),
    contribution requests taken by them or open to their units, transfers offered to their
    units and what other apps register (open action items from lots meetings)."""
    items = []
    for case in Case.objects.open().filter(owner=user).for_list():
        if case.status == Case.Status.WAITING_FOR_COMPANY:
            items.append(
                WorkItem(
                    kind="waiting",
                    title=case.subject,
                    url=_case_url(case),
                    due_on=resumes_on(case),
                    case=case,
                    waiting_since=timezone.localdate(case.waiting_since)
                    if case.waiting_since
                    else None,
                )
            )
        else:
            items.append(
                WorkItem(
                    kind="case",
                    title=case.subject,
                    url=_case_url(case),
                    due_on=next_due(case),
                    case=case,
                )
            )
    units = unit_ids(user)
    parts = (
        CaseDepartment.objects.filter(requested_at__isnull=False, done_at__isnull=True)
        .filter(Q(officer=user) | Q(officer__isnull=True, department_id__in=units))
        .exclude(case__status=Case.Status.CLOSED)
        .select_related("case", "case__company", "case__owner", "department", "requested_by")
    )
    items += [
        WorkItem(
            kind="contribution" if part.officer_id == user.pk else "unit_contribution",
            title=part.case.subject,
            url=_case_url(part.case, "#contribution"),
            due_on=part.due_on,
            case=part.case,
            part=part,
        )
        for part in parts
    ]
    if units:
        transfers = (
            Transfer.objects.filter(status=Transfer.Status.PENDING, to_department_id__in=units)
            .exclude(case__owner=user)
            .select_related("case", "case__company", "from_department", "to_department")
            .select_related("offered_by")
        )
        items += [
            WorkItem(
                kind="transfer",
                title=transfer.case.subject,
                url=_case_url(transfer.case, "#transfer-answer"),
                due_on=None,
                case=transfer.case,
                transfer=transfer,
            )
            for transfer in transfers
        ]
    for source in WORK_SOURCES:
        items.extend(source(user))
    items.sort(key=_sort_key)
    return items


# --- Enhetens kö ---------------------------------------------------------------------------


@dataclass
class UnitQueue:
    cases: list[Case] = field(default_factory=list)
    contributions: list[CaseDepartment] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.cases or self.contributions or self.transfers)


def unit_queue(user) -> UnitQueue:
    """The user's units' cases without a helhetsansvarig (the triage queue included),
    contribution requests nobody has taken and transfers offered to the units. A coordinator
    sees every unit's queue."""
    everything = is_coordinator(user)
    units = unit_ids(user)
    if not everything and not units:
        return UnitQueue()
    cases = Case.objects.unowned().for_list().order_by("received_at", "pk")
    contributions = (
        CaseDepartment.objects.filter(
            requested_at__isnull=False, done_at__isnull=True, officer__isnull=True
        )
        .exclude(case__status=Case.Status.CLOSED)
        .select_related("case", "case__company", "department", "requested_by")
        .order_by("due_on", "pk")
    )
    transfers = (
        Transfer.objects.filter(status=Transfer.Status.PENDING)
        .select_related("case", "case__company", "case__owner", "from_department", "to_department")
        .select_related("offered_by")
        .order_by("created_at", "pk")
    )
    if not everything:
        cases = cases.filter(owning_department_id__in=units)
        contributions = contributions.filter(department_id__in=units)
        transfers = transfers.filter(to_department_id__in=units)
    return UnitQueue(
        cases=list(cases), contributions=list(contributions), transfers=list(transfers)
    )


# --- Alla ärenden --------------------------------------------------------------------------


def case_filter(user, data) -> CaseFilter:
    """The list's filters (cases.filters) over the cases the user may see: a reference outside
    the user's reach is never found, the search starts from what they may see."""
    return CaseFilter(data, queryset=Case.objects.visible_to(user).for_list())


def case_page(queryset, page_number, per_page: int | None = None):
    paginator = Paginator(queryset, per_page or settings.CASES_PER_PAGE)
    return paginator.get_page(page_number)


# What the list's table shows (cases/staff/_case_table.html): the page query reads these
# columns of four tables instead of all columns of five (~70, with texts and the password).
_TABLE_COLUMNS = (
    "reference",
    "subject",
    "status",
    "received_at",
    "due_at",
    "closed_at",
    "company__name",
    "company__org_number",
    "owning_department__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def case_table_page(queryset, page_number):
    """A page of the list's table: the cases with only what the table shows."""
    rows = (
        queryset.select_related(None)
        .select_related("company", "owning_department", "owner")
        .only(*_TABLE_COLUMNS)
    )
    return case_page(rows, page_number)


# --- Case page -----------------------------------------------------------------------------

# Events whose content the timeline shows through the message itself.
_SHOWN_AS_MESSAGE = {
    CaseEvent.Kind.REPLIED,
    CaseEvent.Kind.NOTE_ADDED,
    CaseEvent.Kind.COMPANY_REPLIED,
}


@dataclass
class StaffTimelineEntry:
    created_at: object
    event: CaseEvent | None = None
    message: Message | None = None

    @property
    def css(self) -> str:
        if self.message is not None:
            return {
                Message.Kind.INTERNAL: "internal",
                Message.Kind.FROM_COMPANY: "from-company",
            }.get(self.message.kind, "to-company")
        if self.event.kind in (
            CaseEvent.Kind.CONTRIBUTION_REQUESTED,
            CaseEvent.Kind.CONTRIBUTION_ANSWERED,
        ):
            return "internal contribution"
        return "public" if self.event.is_public else "internal"


@dataclass
class CaseDetail:
    case: Case
    areas: list
    parts: list[CaseDepartment]
    transfers: list[Transfer]
    timeline: list[StaffTimelineEntry]
    related: list[Case]
    followers: list

    @property
    def pending_transfer(self) -> Transfer | None:
        return next((t for t in self.transfers if t.status == Transfer.Status.PENDING), None)

    @property
    def owner_part(self) -> CaseDepartment | None:
        return next((p for p in self.parts if p.role == CaseDepartment.Role.OWNER), None)

    @property
    def requested_parts(self) -> list[CaseDepartment]:
        return [p for p in self.parts if p.is_requested]

    @property
    def answered_parts(self) -> list[CaseDepartment]:
        """Contributions other units have given: what the consolidated answer draws on."""
        return [p for p in self.parts if p.done_at and p.contribution]


def case_detail(user, case: Case) -> CaseDetail:
    """Everything the case page shows, in a fixed number of queries."""
    areas = [row.area for row in CaseArea.objects.filter(case=case).select_related("area__owner")]
    parts = list(
        CaseDepartment.objects.filter(case=case)
        .select_related("department", "officer", "requested_by")
        .order_by("-role", "department__name")
    )
    transfers = list(
        case.transfers.select_related(
            "from_department", "to_department", "offered_by", "decided_by", "suggested_department"
        ).order_by("-created_at", "-pk")
    )
    events = case.events.exclude(kind__in=_SHOWN_AS_MESSAGE).exclude(kind=CaseEvent.Kind.VIEWED)
    timeline = [StaffTimelineEntry(e.created_at, event=e) for e in events.select_related("actor")]
    timeline += [
        StaffTimelineEntry(m.created_at, message=m)
        for m in case.messages.select_related("author", "follower").prefetch_related("attachments")
    ]
    timeline.sort(key=lambda entry: (entry.created_at, entry.message is not None))
    related = list(
        Case.objects.visible_to(user)
        .open()
        .filter(company_id=case.company_id)
        .exclude(pk=case.pk)
        .for_list()
        .order_by("-received_at")[:20]
    )
    followers = list(case.followers.filter(revoked_at__isnull=True).order_by("created_at"))
    return CaseDetail(
        case=case,
        areas=areas,
        parts=parts,
        transfers=transfers,
        timeline=timeline,
        related=related,
        followers=followers,
    )


def today() -> dt.date:
    return timezone.localdate()


# --- Undelivered e-mail on the case page ---------------------------------------------------


def failed_emails_for_case(case) -> list[OutgoingEmail]:
    """E-mails about the case that could not be delivered even after retries (one query)."""
    about_case = Q(subject_id=case.pk) | Q(
        pk__in=Reminder.objects.filter(case=case, email__isnull=False).values("email_id")
    )  # a reminder mail listing several cases is tied to each through its Reminder rows
    return list(
        OutgoingEmail.objects.filter(about_case, status=OutgoingEmail.Status.FAILED)
        .only("pk", "kind", "to", "subject", "attempts", "last_error", "created_at", "subject_id")
        .order_by("-created_at")
    )
