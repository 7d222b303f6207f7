"""Lots meetings pages: thin views over meetings.services and meetings.selectors."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases.permissions import can_act_on_case, get_visible_case_or_404, is_coordinator, unit_ids
from meetings import selectors, services
from meetings.forms import (
    ActionItemForm,
    AttendeesForm,
    CancelForm,
    CompanyMeetingForm,
    InternalMeetingForm,
    MinutesForm,
)
from meetings.ics import meeting_ics
from meetings.models import ActionItem, LotsMeeting, MeetingInvitation

# The services' argument names that the forms show as other fields.
_FIELD_ALIASES = {"starts_at": "date", "ends_at": "end_time", "attended": "attended"}


def _add_errors(form, error: ValidationError) -> None:
    """A service's ValidationError shown at the field it concerns (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            field = _FIELD_ALIASES.get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "HEAD"])
def meeting_list(request):
    listing = selectors.meeting_list(request.user)
    context = {
        "upcoming": listing.upcoming,
        "past": listing.past,
        "today": timezone.localdate(),
        "attendance": selectors.unit_attendance() if is_coordinator(request.user) else None,
    }
    return render(request, "meetings/list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def book_for_case(request, reference):
    case = get_visible_case_or_404(request.user, reference=reference)
    if not can_act_on_case(request.user, case):
        raise PermissionDenied(_("Du har inte behörighet att göra detta i ärendet."))
    proposed = selectors.proposed_units_for_case(case)
    if request.method == "POST":
        form = CompanyMeetingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                meeting = services.meeting_book_for_case(
                    case_id=case.pk,
                    actor=request.user,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    department_ids=[d.pk for d in data["departments"]],
                    place=data["place"],
                    video_link=data["video_link"],
                    company_participants=data["company_participants"],
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Lotsmötet är bokat och inbjudningarna är skickade."))
                return redirect(meeting)
    else:
        starts_at, ends_at = selectors.next_lots_slot()
        form = CompanyMeetingForm(
            initial={
                **CompanyMeetingForm.initial_for(starts_at, ends_at),
                "departments": [d.pk for d in proposed],
                "company_participants": case.contact_name,
            }
        )
    return render(
        request, "meetings/book_case.html", {"case": case, "form": form, "proposed": proposed}
    )


@require_http_methods(["GET", "HEAD", "POST"])
def book_internal(request):
    if not is_coordinator(request.user):
        raise PermissionDenied(_("Bara lotssamordnaren bokar samverkansmöten."))
    proposals = selectors.agenda_proposals()
    if request.method == "POST":
        form = InternalMeetingForm(request.POST, proposals=proposals)
        if form.is_valid():
            data = form.cleaned_data
            try:
                meeting = services.meeting_book_internal(
                    actor=request.user,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    department_ids=[d.pk for d in data["departments"]],
                    agenda_keys=data["agenda"],
                    place=data["place"],
                    video_link=data["video_link"],
                    title=data["title"],
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(
                    request, _("Samverkansmötet är bokat och inbjudningarna är skickade.")
                )
                return redirect(meeting)
    else:
        starts_at, ends_at = selectors.next_internal_slot()
        previous = (
            LotsMeeting.objects.filter(kind=LotsMeeting.Kind.INTERNAL)
            .order_by("-starts_at")
            .first()
        )
        units = (
            list(previous.invitations.values_list("department_id", flat=True)) if previous else []
        )
        form = InternalMeetingForm(
            initial={
                **InternalMeetingForm.initial_for(starts_at, ends_at),
                "departments": units,
                "agenda": [p.key for p in proposals],
                "place": previous.place if previous else "",
                "video_link": previous.video_link if previous else "",
            },
            proposals=proposals,
        )
    return render(request, "meetings/book_internal.html", {"form": form})


def _detail_context(request, meeting, **forms):
    user = request.user
    invitations = list(meeting.invitations.all())
    may_manage = services.can_manage_meeting(user, meeting)
    my_units = unit_ids(user)
    today = timezone.localdate()
    actions = list(meeting.action_items.all())
    for item in actions:
        item.may_complete = not item.is_done and services.can_complete_action(user, item)
        item.overdue = item.is_overdue(today)
    for invitation in invitations:
        invitation.may_edit = meeting.status == LotsMeeting.Status.PLANNED and (
            may_manage or invitation.department_id in my_units
        )
        invitation.attendee_ids = {u.pk for u in invitation.attendees.all()}
    context = {
        "meeting": meeting,
        "invitations": invitations,
        "agenda": list(meeting.agenda_items.all()),
        "actions": actions,
        "actions_done": sum(1 for a in actions if a.is_done),
        "actions_overdue": sum(1 for a in actions if a.overdue),
        "actions_open": sum(1 for a in actions if not a.is_done and not a.overdue),
        "may_manage": may_manage,
        "attendee_errors": forms.pop("attendee_errors", {}),
    }
    for_company = meeting.is_company_meeting
    context["for_company"] = for_company
    context["has_started"] = meeting.starts_at <= timezone.now()
    if may_manage and meeting.status != LotsMeeting.Status.CANCELLED:
        department_ids = [inv.department_id for inv in invitations]
        if context["has_started"]:  # minutes are written once the meeting has begun
            context["minutes_form"] = forms.get("minutes_form") or MinutesForm(
                initial={
                    "minutes": meeting.minutes,
                    "decisions": meeting.decisions,
                    "internal_notes": meeting.internal_notes,
                    # Nobody is marked present until someone ticks them.
                    "attended": [inv.department_id for inv in invitations if inv.attended],
                },
                invitations=invitations,
                for_company=for_company,
            )
        context["action_form"] = forms.get("action_form") or ActionItemForm(
            department_ids=department_ids,
            cases=_agenda_cases(meeting),
            for_company=for_company,
        )
        if not for_company and meeting.status == LotsMeeting.Status.PLANNED:
            on_agenda = {item.case_id for item in context["agenda"] if item.case_id}
            context["proposals"] = [
                p
                for p in selectors.agenda_proposals()
                if p.case is not None and p.case.pk not in on_agenda
            ]
        if meeting.status == LotsMeeting.Status.PLANNED:
            context["cancel_form"] = forms.get("cancel_form") or CancelForm()
    return context


def _agenda_cases(meeting) -> list:
    """For a samverkansmöte: the cases on its agenda, which an action may be linked to."""
    if meeting.case_id is not None:
        return []
    return [item.case for item in meeting.agenda_items.all() if item.case is not None]


def _meeting_or_404(request, pk):
    meeting = selectors.meeting_detail(request.user, pk)
    if meeting is None:
        raise Http404
    return meeting


@require_http_methods(["GET", "HEAD"])
def meeting_detail(request, pk):
    meeting = _meeting_or_404(request, pk)
    return render(request, "meetings/detail.html", _detail_context(request, meeting))


@require_POST
def set_attendees(request, pk, invitation_pk):
    meeting = _meeting_or_404(request, pk)
    invitation = get_object_or_404(MeetingInvitation, pk=invitation_pk, meeting=meeting)
    form = AttendeesForm(request.POST, department=invitation.department)
    if form.is_valid():
        try:
            services.invitation_set_attendees(
                invitation_id=invitation.pk,
                actor=request.user,
                attendee_ids=[u.pk for u in form.cleaned_data["attendees"]],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(
                request,
                _("Deltagarna från %(unit)s är sparade.") % {"unit": invitation.department.name},
            )
            return redirect(meeting)
    errors = [e for errs in form.errors.values() for e in errs]
    context = _detail_context(request, meeting, attendee_errors={invitation.pk: errors})
    return render(request, "meetings/detail.html", context)


@require_POST
def record_minutes(request, pk):
    meeting = _meeting_or_404(request, pk)
    if meeting.starts_at > timezone.now():
        # The page says so before anyone types; a stale page gets the message once.
        messages.error(request, _("Minnesanteckningar kan skrivas först när mötet har börjat."))
        return redirect(meeting)
    form = MinutesForm(
        request.POST,
        invitations=list(meeting.invitations.all()),
        for_company=meeting.is_company_meeting,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.meeting_record_minutes(
                meeting_id=meeting.pk,
                actor=request.user,
                minutes=data["minutes"],
                decisions=data["decisions"],
                internal_notes=data["internal_notes"],
                attended_department_ids=data["attended"],
                publish=data["publish"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            if data["publish"]:
                messages.success(request, _("Minnesanteckningarna är publicerade och skickade."))
            else:
                messages.success(request, _("Minnesanteckningarna är sparade."))
            return redirect(meeting)
    context = _detail_context(request, meeting, minutes_form=form)
    return render(request, "meetings/detail.html", context)


@require_POST
def add_agenda_item(request, pk):
    """Put a proposed case on the agenda of a samverkansmöte."""
    meeting = _meeting_or_404(request, pk)
    try:
        services.agenda_item_add(
            meeting_id=meeting.pk,
            actor=request.user,
            title="",
            case_reference=request.POST.get("case_reference", ""),
            note=request.POST.get("note", "")[:1000],
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Punkten är tillagd på dagordningen."))
    return redirect(meeting.get_absolute_url() + "#agenda-heading")


@require_POST
def add_action(request, pk):
    meeting = _meeting_or_404(request, pk)
    department_ids = [inv.department_id for inv in meeting.invitations.all()]
    form = ActionItemForm(
        request.POST,
        department_ids=department_ids,
        cases=_agenda_cases(meeting),
        for_company=meeting.is_company_meeting,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.action_item_add(
                meeting_id=meeting.pk,
                actor=request.user,
                title=data["title"],
                owner_id=data["owner"].pk,
                department_id=data["department"].pk,
                due_on=data["due_on"],
                description=data["description"],
                case_id=data.get("case"),
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Åtgärden är tillagd."))
            return redirect(meeting)
    context = _detail_context(request, meeting, action_form=form)
    return render(request, "meetings/detail.html", context)


@require_POST
def complete_action(request, action_pk):
    item = get_object_or_404(ActionItem.objects.select_related("meeting"), pk=action_pk)
    if selectors.meeting_detail(request.user, item.meeting_id) is None and (
        item.owner_id != request.user.pk
    ):
        raise Http404
    services.action_item_complete(action_item_id=item.pk, actor=request.user)
    messages.success(request, _("Åtgärden är markerad som klar."))
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect(item.meeting)


@require_POST
def cancel(request, pk):
    meeting = _meeting_or_404(request, pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_cancel(
                meeting_id=meeting.pk, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Mötet är inställt och de inbjudna har fått besked."))
            return redirect(meeting)
    context = _detail_context(request, meeting, cancel_form=form)
    return render(request, "meetings/detail.html", context)


@require_http_methods(["GET", "HEAD"])
def calendar_file(request, pk):
    meeting = _meeting_or_404(request, pk)
    cancelled = meeting.status == LotsMeeting.Status.CANCELLED
    response = HttpResponse(
        meeting_ics(meeting, cancel=cancelled), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="lotsmote.ics"'
    return response
