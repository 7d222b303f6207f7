"""Reads for lots meetings, each with a fixed number of queries whatever the number of rows.

Its open action items reach the officers' work list through `meetings.worklist`.
"""

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.deadlines import is_working_day
from cases.models import Case, CaseDepartment
from cases.permissions import is_coordinator
from departments.models import Department, Membership, ResponsibilityArea
from meetings.models import ActionItem, AgendaItem, LotsMeeting, MeetingInvitation

LOTS_START = dt.time(14, 0)
LOTS_END = dt.time(16, 0)
PROPOSALS_PER_KIND = 20


def open_action_items_for_user(user) -> list:
    """The user's open action items from lots meetings, soonest due first (one query)."""
    if not user.is_authenticated:
        return []
    return list(
        ActionItem.objects.open()
        .filter(owner=user)
        .select_related("meeting", "department", "case")
        .order_by("due_on", "pk")
    )


def next_lots_slot(now=None, *, taken=()) -> tuple[dt.datetime, dt.datetime]:
    """The next Thursday 14:00–16:00 (Europe/Stockholm) in an even ISO week, after `now`,
    skipping start times in `taken` and Thursdays that are days off (Kristi himmelsfärdsdag,
    julafton)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    now = (now or timezone.now()).astimezone(tz)
    day = now.date()
    day += dt.timedelta(days=(3 - day.weekday()) % 7)  # the coming Thursday (or today)
    while True:
        start = dt.datetime.combine(day, LOTS_START, tzinfo=tz)
        if (
            day.isocalendar().week % 2 == 0
            and start > now
            and start not in taken
            and is_working_day(day)
        ):
            return start, dt.datetime.combine(day, LOTS_END, tzinfo=tz)
        day += dt.timedelta(days=7)


def next_internal_slot(now=None) -> tuple[dt.datetime, dt.datetime]:
    """The next even-week Thursday with no samverkansmöte booked yet."""
    now = now or timezone.now()
    taken = set(
        LotsMeeting.objects.filter(
            kind=LotsMeeting.Kind.INTERNAL, starts_at__gt=now, status=LotsMeeting.Status.PLANNED
        ).values_list("starts_at", flat=True)
    )
    return next_lots_slot(now, taken=taken)


def proposed_units_for_case(case: Case) -> list[Department]:
    """Units to invite to a company lots meeting: the owners of the case's areas, the units
    the areas usually consult, and the units already taking part in the case (one query)."""
    area_ids = case.case_areas.values("area_id")
    return list(
        Department.objects.active()
        .filter(
            Q(owned_areas__in=area_ids)
            | Q(consulted_in_areas__in=area_ids)
            | Q(case_parts__case=case)
            | Q(pk=case.owning_department_id)
        )
        .distinct()
        .order_by("name")
    )


def meetings_visible_to(user):
    """All meetings for a coordinator; otherwise those of one's units, one's own bookings,
    the meetings one attends or owns an action in, and those about one's cases."""
    qs = LotsMeeting.objects.all()
    if is_coordinator(user):
        return qs
    my_units = Membership.objects.filter(user=user).values("department_id")
    return qs.filter(
        Q(created_by=user)
        | Exists(
            MeetingInvitation.objects.filter(meeting=OuterRef("pk")).filter(
                Q(department__in=my_units) | Q(attendees=user)
            )
        )
        | Exists(ActionItem.objects.filter(meeting=OuterRef("pk"), owner=user))
        | Q(case__in=Case.objects.visible_to(user).values("pk"))
    )


def _with_action_counts(qs, today):
    return qs.annotate(
        actions_total=Count("action_items", distinct=True),
        actions_done=Count(
            "action_items", filter=Q(action_items__done_at__isnull=False), distinct=True
        ),
        actions_overdue=Count(
            "action_items",
            filter=Q(action_items__done_at__isnull=True, action_items__due_on__lt=today),
            distinct=True,
        ),
    )


@dataclass
class MeetingList:
    upcoming: list
    past: list


def meeting_list(user, *, now=None, past_limit: int = 50) -> MeetingList:
    """Upcoming and held/past meetings the user may see (two queries)."""
    now = now or timezone.now()
    base = _with_action_counts(
        meetings_visible_to(user).select_related("case", "case__company"), timezone.localdate(now)
    )
    upcoming = list(
        base.filter(ends_at__gte=now, status=LotsMeeting.Status.PLANNED).order_by("starts_at")
    )
    past = list(base.exclude(pk__in=[m.pk for m in upcoming]).order_by("-starts_at")[:past_limit])
    return MeetingList(upcoming=upcoming, past=past)


def meeting_detail(user, meeting_id: int) -> LotsMeeting | None:
    """A meeting with its units (and their members), agenda and actions; None if not visible.
    A fixed number of queries."""
    members = Membership.objects.select_related("user").order_by(
        "user__first_name", "user__last_name", "user__username"
    )
    return (
        meetings_visible_to(user)
        .select_related("case", "case__company", "case__owning_department", "created_by")
        .prefetch_related(
            Prefetch(
                "invitations",
                queryset=MeetingInvitation.objects.select_related("department").prefetch_related(
                    "attendees",
                    Prefetch("department__memberships", queryset=members, to_attr="members"),
                ),
            ),
            Prefetch("agenda_items", queryset=AgendaItem.objects.select_related("case")),
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related("owner", "department", "case"),
            ),
        )
        .filter(pk=meeting_id)
        .first()
    )


def unit_attendance(*, since=None) -> list[Department]:
    """Per unit: meetings invited to and attended (held meetings only), units that never
    attend first (one query)."""
    held = Q(meeting_invitations__meeting__status=LotsMeeting.Status.HELD)
    if since is not None:
        held &= Q(meeting_invitations__meeting__starts_at__gte=since)
    return list(
        Department.objects.active()
        .annotate(
            invited=Count("meeting_invitations", filter=held),
            attended=Count(
                "meeting_invitations", filter=held & Q(meeting_invitations__attended=True)
            ),
        )
        .filter(invited__gt=0)
        .order_by("attended", "-invited", "name")
    )


@dataclass
class AgendaProposal:
    key: str
    title: str
    reasons: list[str] = field(default_factory=list)
    case: Case | None = None


def agenda_proposals(today=None) -> list[AgendaProposal]:
    """What the samverkansmöte should discuss, drawn from the cases: bouncing cases, overdue
    multi-unit cases, unowned cases, cases in triage, contributions outstanding, and areas
    with no active member in their owning unit. A fixed number of queries."""
    today = today or timezone.localdate()
    open_cases = Case.objects.open().only("pk", "reference", "subject")
    outstanding = CaseDepartment.objects.filter(
        case=OuterRef("pk"), requested_at__isnull=False, done_at__isnull=True
    )
    kinds = [
        (_("Ärendet har bollats mellan enheter"), open_cases.filter(transfer_count__gte=2)),
        (
            _("Försenat ärende med flera enheter"),
            open_cases.overdue(today)
            .annotate(units=Count("case_departments", distinct=True))
            .filter(units__gte=2),
        ),
        (_("Ärendet saknar helhetsansvarig"), open_cases.filter(owner__isnull=True)),
        (
            _("Ärendet behöver sorteras (oklart vem som äger frågan)"),
            open_cases.filter(needs_triage=True),
        ),
        (_("Underlag från en enhet dröjer"), open_cases.filter(Exists(outstanding))),
    ]
    proposals: dict[str, AgendaProposal] = {}
    for reason, qs in kinds:
        for case in qs.order_by("received_at")[:PROPOSALS_PER_KIND]:
            key = f"case:{case.pk}"
            proposal = proposals.setdefault(
                key,
                AgendaProposal(key=key, title=f"{case.reference} {case.subject}", case=case),
            )
            proposal.reasons.append(reason)
    active_members = Membership.objects.filter(
        department=OuterRef("owner"), user__is_active=True, is_available=True
    )
    for area in (
        ResponsibilityArea.objects.active()
        .filter(~Exists(active_members))
        .only("pk", "name")
        .order_by("name")[:PROPOSALS_PER_KIND]
    ):
        key = f"area:{area.pk}"
        proposals[key] = AgendaProposal(
            key=key,
            title=_("Området %(area)s saknar tydlig ägare") % {"area": area.name},
            reasons=[_("Ingen tillgänglig handläggare i den ägande enheten")],
        )
    return list(proposals.values())


@dataclass
class PublicMeeting:
    meeting: LotsMeeting
    show_minutes: bool
    actions: list


def public_case_meetings(case: Case) -> list[PublicMeeting]:
    """What the company sees about its lots meetings: date and place of planned ones; for held
    ones with published minutes, the minutes, decisions and what each unit will do by when.
    Never internal notes or agenda notes. Two queries."""
    meetings = (
        LotsMeeting.objects.filter(case=case, kind=LotsMeeting.Kind.COMPANY)
        .exclude(status=LotsMeeting.Status.CANCELLED, minutes_published_at__isnull=True)
        .only(
            "pk",
            "title",
            "starts_at",
            "ends_at",
            "place",
            "video_link",
            "status",
            "minutes",
            "decisions",
            "minutes_published_at",
            "case_id",
        )
        .prefetch_related(
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related("department").only(
                    "pk", "meeting_id", "title", "due_on", "done_at", "department__name"
                ),
            )
        )
        .order_by("-starts_at")
    )
    result = []
    for meeting in meetings:
        published = meeting.minutes_published_at is not None
        result.append(
            PublicMeeting(
                meeting=meeting,
                show_minutes=published,
                actions=list(meeting.action_items.all()) if published else [],
            )
        )
    return result


def staff_case_meetings(case: Case, limit: int = 20) -> list[LotsMeeting]:
    """Meetings about a case for its page in the workspace: the company's lots meetings and
    samverkansmöten where it was on the agenda, newest first (one query)."""
    on_agenda = AgendaItem.objects.filter(case=case).values("meeting_id")
    return list(
        LotsMeeting.objects.filter(Q(case=case) | Q(pk__in=on_agenda))
        .only("pk", "kind", "title", "starts_at", "status")
        .order_by("-starts_at")[:limit]
    )
