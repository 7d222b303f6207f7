"""What people do with lots meetings: one transactional, permission-checked function each.

Company meetings lock their case (`select_for_update`) and record CaseEvents on its timeline;
e-mail (invitations with an .ics file, minutes) is queued through the outbox and sent after
commit.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent, CaseFollower
from cases.permissions import can_act_on_case, is_coordinator, unit_ids
from cases.services.events import record_event
from departments.models import Department, Membership
from meetings.ics import ics_attachment
from meetings.models import ActionItem, AgendaItem, LotsMeeting, MeetingInvitation
from outbox.services import email_queue

User = get_user_model()


# --- permissions -------------------------------------------------------------------------


def can_manage_meeting(user, meeting: LotsMeeting) -> bool:
    """Book, record minutes and assign actions: the coordinator; for a company meeting also
    whoever may act on the case (its helhetsansvarig, the owning unit's lead)."""
    if is_coordinator(user):
        return True
    return meeting.case_id is not None and can_act_on_case(user, meeting.case)


def can_name_attendees(user, invitation: MeetingInvitation) -> bool:
    return invitation.department_id in unit_ids(user) or can_manage_meeting(
        user, invitation.meeting
    )


def can_complete_action(user, item: ActionItem) -> bool:
    return item.owner_id == user.pk or can_manage_meeting(user, item.meeting)


def _ensure(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("Du har inte behörighet att göra detta för mötet."))


def _lock_meeting(meeting_id: int) -> LotsMeeting:
    """Lock the meeting, and its case first if it has one (always in that order)."""
    case_id = LotsMeeting.objects.filter(pk=meeting_id).values_list("case_id", flat=True).first()
    if case_id is not None:
        Case.objects.select_for_update().get(pk=case_id)
    meeting = (
        LotsMeeting.objects.select_for_update(of=("self",))
        .select_related("case", "case__owning_department")
        .get(pk=meeting_id)
    )
    return meeting


def _display(user) -> str:
    return user.get_full_name() or user.username


# --- booking -----------------------------------------------------------------------------


def _validate_when(starts_at: dt.datetime, ends_at: dt.datetime, now=None) -> None:
    now = now or timezone.now()
    errors = {}
    if starts_at <= now:
        errors["starts_at"] = _("Mötet måste ligga framåt i tiden.")
    if ends_at <= starts_at:
        errors["ends_at"] = _("Mötet måste sluta efter att det börjar.")
    if errors:
        raise ValidationError(errors)


def _invite(meeting: LotsMeeting, departments) -> list[MeetingInvitation]:
    existing = set(meeting.invitations.values_list("department_id", flat=True))
    new = [
        MeetingInvitation(meeting=meeting, department=department)
        for department in departments
        if department.pk not in existing
    ]
    MeetingInvitation.objects.bulk_create(new)
    return new


def _send_invitations(meeting: LotsMeeting, departments, *, followers=()) -> None:
    attachment = ics_attachment(meeting)
    for department in departments:
        if department.email:
            email_queue(
                kind="meeting_invitation",
                to=department.email,
                template="emails/meeting_invitation",
                context={"meeting": meeting, "department": department, "for_company": False},
                case=meeting.case,
                attachments=[attachment],
            )
    for follower in followers:
        email_queue(
            kind="meeting_invitation",
            to=follower.email,
            template="emails/meeting_invitation",
            context={"meeting": meeting, "follower": follower, "for_company": True},
            case=meeting.case,
            attachments=[attachment],
        )


def _departments(department_ids) -> list[Department]:
    ids = set(department_ids)
    departments = list(Department.objects.active().filter(pk__in=ids).order_by("name"))
    if not departments:
        raise ValidationError({"departments": _("Bjud in minst en enhet.")})
    if len(departments) != len(ids):
        raise ValidationError({"departments": _("En av enheterna finns inte längre.")})
    return departments


@transaction.atomic
def meeting_book_for_case(
    *,
    case_id: int,
    actor,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    department_ids: list[int],
    place: str = "",
    video_link: str = "",
    company_participants: str = "",
) -> LotsMeeting:
    """Book a company lots meeting from a case, invite the units and the company."""
    case = Case.objects.select_for_update().select_related("company").get(pk=case_id)
    if not can_act_on_case(actor, case):
        raise PermissionDenied(_("Du har inte behörighet att göra detta i ärendet."))
    if not case.is_open:
        raise ValidationError(_("Ärendet är avslutat."))
    _validate_when(starts_at, ends_at)
    if not place.strip() and not video_link.strip():
        raise ValidationError({"place": _("Ange en plats eller en länk till videomötet.")})
    departments = _departments(department_ids)
    meeting = LotsMeeting.objects.create(
        kind=LotsMeeting.Kind.COMPANY,
        title=_("Lotsmöte: %(company)s – %(subject)s")
        % {"company": case.company.name, "subject": case.subject},
        starts_at=starts_at,
        ends_at=ends_at,
        place=place.strip(),
        video_link=video_link.strip(),
        case=case,
        company_participants=company_participants.strip(),
        created_by=actor,
    )
    _invite(meeting, departments)
    AgendaItem.objects.create(meeting=meeting, case=case, title=case.subject, position=0)
    local = timezone.localtime(starts_at)
    record_event(
        case,
        CaseEvent.Kind.MEETING_BOOKED,
        actor=actor,
        public=True,
        data={
            "meeting_id": meeting.pk,
            "starts_at": local.isoformat(),
            "date": local.strftime("%Y-%m-%d %H:%M"),
            "place": meeting.place or meeting.video_link,
            "departments": [d.name for d in departments],
        },
    )
    followers = list(CaseFollower.objects.filter(case=case, revoked_at__isnull=True))
    _send_invitations(meeting, departments, followers=followers)
    return meeting


@transaction.atomic
def meeting_book_internal(
    *,
    actor,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    department_ids: list[int],
    agenda_keys: list[str] = (),
    place: str = "",
    video_link: str = "",
    title: str = "",
) -> LotsMeeting:
    """Book a samverkansmöte (coordinator only) with an agenda picked from the proposals."""
    _ensure(is_coordinator(actor))
    _validate_when(starts_at, ends_at)
    if not place.strip() and not video_link.strip():
        raise ValidationError({"place": _("Ange en plats eller en länk till videomötet.")})
    departments = _departments(department_ids)
    local = timezone.localtime(starts_at)
    meeting = LotsMeeting.objects.create(
        kind=LotsMeeting.Kind.INTERNAL,
        title=title.strip() or _("Samverkansmöte %(date)s") % {"date": local.strftime("%Y-%m-%d")},
        starts_at=starts_at,
        ends_at=ends_at,
        place=place.strip(),
        video_link=video_link.strip(),
        created_by=actor,
    )
    _invite(meeting, departments)
    _add_agenda(meeting, agenda_keys)
    _send_invitations(meeting, departments)
    return meeting


def _add_agenda(meeting: LotsMeeting, keys) -> None:
    from meetings.selectors import agenda_proposals

    wanted = set(keys)
    if not wanted:
        return
    items = []
    for position, proposal in enumerate(p for p in agenda_proposals() if p.key in wanted):
        items.append(
            AgendaItem(
                meeting=meeting,
                case=proposal.case,
                title=proposal.title[:200],
                note="; ".join(str(reason) for reason in proposal.reasons),
                position=position,
            )
        )
    AgendaItem.objects.bulk_create(items)


# --- the units name who attends ----------------------------------------------------------


@transaction.atomic
def invitation_set_attendees(*, invitation_id: int, actor, attendee_ids: list[int]):
    """The invited unit names who attends (members of the unit); newly named people get the
    invitation with its calendar file."""
    invitation = MeetingInvitation.objects.select_related("department", "meeting").get(
        pk=invitation_id
    )
    meeting = _lock_meeting(invitation.meeting_id)
    invitation.meeting = meeting
    _ensure(can_name_attendees(actor, invitation))
    if meeting.status != LotsMeeting.Status.PLANNED:
        raise ValidationError(_("Mötet är redan genomfört eller inställt."))
    ids = set(attendee_ids)
    members = set(
        Membership.objects.filter(department=invitation.department, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    )
    if ids - members:
        raise ValidationError({"attendees": _("Deltagarna måste vara medlemmar i enheten.")})
    before = set(invitation.attendees.values_list("pk", flat=True))
    invitation.attendees.set(ids)
    attachment = ics_attachment(meeting)
    for user in User.objects.filter(pk__in=ids - before).exclude(email=""):
        email_queue(
            kind="meeting_invitation",
            to=user.email,
            template="emails/meeting_invitation",
            context={"meeting": meeting, "department": invitation.department, "recipient": user},
            case=meeting.case,
            attachments=[attachment],
        )
    return invitation


# --- minutes and actions -----------------------------------------------------------------


@transaction.atomic
def meeting_record_minutes(
    *,
    meeting_id: int,
    actor,
    minutes: str,
    decisions: str = "",
    internal_notes: str = "",
    attended_department_ids: list[int] = (),
    publish: bool = False,
) -> LotsMeeting:
    """Record what was said and decided, and which units came; the meeting is then held.

    With `publish`, the minutes and actions go to the company (tracking page and e-mail) and
    to the invited units; publishing again after a correction sends them again."""
    meeting = _lock_meeting(meeting_id)
    _ensure(can_manage_meeting(actor, meeting))
    if meeting.status == LotsMeeting.Status.CANCELLED:
        raise ValidationError(_("Mötet är inställt."))
    if meeting.starts_at > timezone.now():
        raise ValidationError(_("Minnesanteckningar kan skrivas först när mötet har börjat."))
    if not minutes.strip():
        raise ValidationError({"minutes": _("Skriv minnesanteckningarna.")})
    invitations = list(meeting.invitations.select_related("department"))
    attended = set(attended_department_ids)
    unknown = attended - {inv.department_id for inv in invitations}
    if unknown:
        raise ValidationError({"attended": _("Bara inbjudna enheter kan markeras som närvarande.")})
    for invitation in invitations:
        invitation.attended = invitation.department_id in attended
    MeetingInvitation.objects.bulk_update(invitations, ["attended"])
    meeting.minutes = minutes.strip()
    meeting.decisions = decisions.strip()
    meeting.internal_notes = internal_notes.strip()
    meeting.status = LotsMeeting.Status.HELD
    first_publication = publish and meeting.minutes_published_at is None
    if publish:
        meeting.minutes_published_at = timezone.now()
    meeting.save(
        update_fields=[
            "minutes",
            "decisions",
            "internal_notes",
            "status",
            "minutes_published_at",
            "updated_at",
        ]
    )
    if publish:
        _send_minutes(meeting, invitations)
        if meeting.case_id is not None:
            record_event(
                meeting.case,
                CaseEvent.Kind.MEETING_MINUTES,
                actor=actor,
                public=True,
                data={"meeting_id": meeting.pk, "corrected": not first_publication},
            )
    return meeting


def _send_minutes(meeting: LotsMeeting, invitations) -> None:
    actions = list(meeting.action_items.select_related("department", "owner"))
    recipients = {inv.department.email for inv in invitations if inv.department.email}
    for email in sorted(recipients):
        email_queue(
            kind="meeting_minutes",
            to=email,
            template="emails/meeting_minutes",
            context={"meeting": meeting, "actions": actions, "for_company": False},
            case=meeting.case,
        )
    if meeting.is_company_meeting:
        for follower in CaseFollower.objects.filter(case=meeting.case, revoked_at__isnull=True):
            email_queue(
                kind="meeting_minutes",
                to=follower.email,
                template="emails/meeting_minutes",
                context={
                    "meeting": meeting,
                    "actions": actions,
                    "follower": follower,
                    "for_company": True,
                },
                case=meeting.case,
            )


@transaction.atomic
def action_item_add(
    *,
    meeting_id: int,
    actor,
    title: str,
    owner_id: int,
    department_id: int,
    due_on: dt.date,
    description: str = "",
    case_id: int | None = None,
) -> ActionItem:
    """Assign an action: one owner person in one unit, a due date; linked to the meeting's
    case (or, for a samverkansmöte, to a case on its agenda if given)."""
    meeting = _lock_meeting(meeting_id)
    _ensure(can_manage_meeting(actor, meeting))
    if meeting.status == LotsMeeting.Status.CANCELLED:
        raise ValidationError(_("Mötet är inställt."))
    errors = {}
    if not title.strip():
        errors["title"] = _("Skriv vad som ska göras.")
    if due_on < timezone.localdate():
        errors["due_on"] = _("Datumet har redan passerat.")
    department = Department.objects.active().filter(pk=department_id).first()
    if department is None:
        errors["department"] = _("Välj en enhet.")
    elif not Membership.objects.filter(department=department, user_id=owner_id).exists():
        errors["owner"] = _("Den ansvariga personen måste vara medlem i den valda enheten.")
    if errors:
        raise ValidationError(errors)
    case = meeting.case
    if case is None and case_id is not None:
        # A samverkansmöte's action may concern a case on its agenda.
        case = (
            Case.objects.select_for_update()
            .filter(pk=case_id, pk__in=meeting.agenda_items.values("case_id"))
            .first()
        )
        if case is None:
            raise ValidationError({"case": _("Ärendet finns inte på mötets dagordning.")})
    owner = User.objects.get(pk=owner_id)
    item = ActionItem.objects.create(
        meeting=meeting,
        case=case,
        title=title.strip(),
        description=description.strip(),
        owner=owner,
        department=department,
        due_on=due_on,
        created_by=actor,
    )
    if case is not None:
        record_event(
            case,
            CaseEvent.Kind.ACTION_ITEM_ADDED,
            actor=actor,
            data={
                "action_item_id": item.pk,
                "meeting_id": meeting.pk,
                "title": item.title,
                "owner": _display(owner),
                "department": department.name,
                "due_on": due_on.isoformat(),
            },
        )
    if owner.email:
        email_queue(
            kind="meeting_action_assigned",
            to=owner.email,
            template="emails/meeting_action_assigned",
            context={"item": item, "meeting": meeting, "recipient": owner},
            case=case,
        )
    return item


@transaction.atomic
def action_item_complete(*, action_item_id: int, actor) -> ActionItem:
    """Mark an action done: its owner, or whoever manages the meeting. Idempotent."""
    meeting_id = ActionItem.objects.values_list("meeting_id", flat=True).get(pk=action_item_id)
    meeting = _lock_meeting(meeting_id)
    item = ActionItem.objects.select_for_update().get(pk=action_item_id)
    item.meeting = meeting
    if not can_complete_action(actor, item):
        raise PermissionDenied(_("Bara den ansvariga personen kan markera åtgärden som klar."))
    if item.done_at is not None:
        return item
    item.done_at = timezone.now()
    item.done_by = actor
    item.save(update_fields=["done_at", "done_by"])
    if item.case_id is not None:
        record_event(
            item.case,
            CaseEvent.Kind.ACTION_ITEM_DONE,
            actor=actor,
            data={"action_item_id": item.pk, "meeting_id": meeting.pk, "title": item.title},
        )
    return item


@transaction.atomic
def meeting_cancel(*, meeting_id: int, actor, reason: str) -> LotsMeeting:
    """Cancel a planned meeting; everyone invited gets a calendar cancellation."""
    meeting = _lock_meeting(meeting_id)
    _ensure(can_manage_meeting(actor, meeting))
    if meeting.status != LotsMeeting.Status.PLANNED:
        raise ValidationError(_("Bara planerade möten kan ställas in."))
    if not reason.strip():
        raise ValidationError({"reason": _("Ange varför mötet ställs in.")})
    meeting.status = LotsMeeting.Status.CANCELLED
    meeting.cancel_reason = reason.strip()
    meeting.sequence += 1
    meeting.save(update_fields=["status", "cancel_reason", "sequence", "updated_at"])
    attachment = ics_attachment(meeting, cancel=True)
    recipients = set()
    for invitation in meeting.invitations.select_related("department").prefetch_related(
        "attendees"
    ):
        if invitation.department.email:
            recipients.add(invitation.department.email)
        recipients.update(user.email for user in invitation.attendees.all() if user.email)
    if meeting.is_company_meeting:
        recipients.update(
            CaseFollower.objects.filter(case=meeting.case, revoked_at__isnull=True).values_list(
                "email", flat=True
            )
        )
        record_event(
            meeting.case,
            CaseEvent.Kind.MEETING_CANCELLED,
            actor=actor,
            public=True,
            data={"meeting_id": meeting.pk, "reason": meeting.cancel_reason},
        )
    for email in sorted(recipients):
        email_queue(
            kind="meeting_cancelled",
            to=email,
            template="emails/meeting_cancelled",
            context={"meeting": meeting},
            case=meeting.case,
            attachments=[attachment],
        )
    return meeting
