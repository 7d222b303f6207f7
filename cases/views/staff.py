"""The officers' workspace at /handlaggning/: thin views over selectors and services.

A case outside the user's reach is a 404 on every URL; an action the user's role does not
allow is a 403; an illegal transition is a Swedish message and changes nothing.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cases import forms_staff as f
from cases import selectors_staff as selectors
from cases.audit import audit_case_opened
from cases.deadlines import readable_date
from cases.forms import StaffInquiryForm
from cases.models import Case, CaseDepartment, Transfer
from cases.permissions import (
    can_act_on_case,
    can_assign_in,
    can_view_case,
    get_visible_case_or_404,
    is_coordinator,
    unit_ids,
)
from cases.selectors import question_attachments
from cases.selectors_lead import unit_overviews
from cases.selectors_staff import failed_emails_for_case
from cases.services import work
from cases.services.deadlines import case_extend_deadline
from cases.services.intake import case_create

# --- Lists ---------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def home(request):
    """Min arbetslista; for a unit lead, the unit's overview above it."""
    items = selectors.work_list(request.user)
    overviews = unit_overviews(request.user)
    return render(
        request,
        "cases/staff/lead_home.html" if overviews else "cases/staff/home.html",
        {
            "items": items,
            "overviews": overviews,
            "section": "home",
            "today": selectors.today(),
            "home_url": request.path,
        },
    )


@require_http_methods(["GET", "HEAD"])
def queue(request):
    """Enhetens kö."""
    return render(
        request,
        "cases/staff/queue.html",
        {
            "queue": selectors.unit_queue(request.user),
            "section": "queue",
            "has_units": bool(unit_ids(request.user)) or is_coordinator(request.user),
        },
    )


@require_http_methods(["GET", "HEAD"])
def case_list(request):
    """Alla ärenden: search and filters over the cases the user may see."""
    found = selectors.case_filter(request.user, request.GET or None)
    page = selectors.case_table_page(found.cases, request.GET.get("page"))
    return render(
        request,
        "cases/staff/case_list.html",
        {"form": found.form, "page": page, "section": "list", "searched": found.is_bound},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def register(request):
    """Staff register an inquiry that came by phone, e-mail or visit."""
    form = StaffInquiryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        case, _follower = case_create(
            inquiry=form.to_inquiry(channel=form.cleaned_data["channel"]), actor=request.user
        )
        messages.success(
            request,
            _("Ärendet är registrerat som %(reference)s och fördelat till %(unit)s.")
            % {"reference": case.reference, "unit": case.owning_department.name},
        )
        if can_view_case(request.user, case):
            return redirect("staff:case_detail", reference=case.reference)
        return redirect("staff:home")
    return render(request, "cases/staff/register.html", {"form": form, "section": "register"})


# --- The case page -------------------------------------------------------------------------


def _my_open_parts(user, detail) -> list[CaseDepartment]:
    units = unit_ids(user)
    coordinator = is_coordinator(user)
    return [
        part
        for part in detail.requested_parts
        if part.is_outstanding and (coordinator or part.department_id in units)
    ]


def _page_forms(request, case, detail, bound: dict[str, Any]) -> dict[str, Any]:
    """The action forms the user may use on this case, with any bound (invalid) one."""
    user = request.user
    allowed = work.allowed_actions(case)
    acting = can_act_on_case(user, case)
    forms: dict[str, Any] = {}

    def add(name, action, factory):
        if action in allowed:
            forms[name] = bound.get(name) or factory()

    if acting:
        add("reply_form", "reply", f.ReplyForm)
        add("wait_form", "wait_for_company", f.WaitForCompanyForm)
        add("close_form", "close", f.CloseForm)
        add("reopen_form", "reopen", f.ReopenForm)
        if case.status != Case.Status.CLOSED:
            forms["extend_form"] = bound.get("extend_form") or f.ExtendDeadlineForm()
        add(
            "contribution_form",
            "request_contribution",
            lambda: f.ContributionRequestForm(case=case),
        )
        if detail.pending_transfer is None:
            add("transfer_form", "transfer_offer", lambda: f.TransferOfferForm(case=case))
        add(
            "areas_form",
            "change_areas",
            lambda: f.AreasForm(initial={"primary": case.primary_area, "others": detail.areas[1:]}),
        )
    if can_assign_in(user, case.owning_department_id):
        add("assign_form", "assign", lambda: f.AssignForm(case=case))
    if acting or any(
        p.department_id in unit_ids(user) or p.officer_id == user.pk for p in detail.parts
    ):
        add("note_form", "note", f.NoteForm)
    transfer = detail.pending_transfer
    if transfer and (is_coordinator(user) or transfer.to_department_id in unit_ids(user)):
        add(
            "accept_form",
            "transfer_accept",
            lambda: f.TransferAcceptForm(department_id=transfer.to_department_id),
        )
        add("decline_form", "transfer_decline", f.TransferDeclineForm)
    my_parts = _my_open_parts(user, detail)
    if my_parts and "contribute" in allowed:
        forms["contribute_forms"] = [
            (part, bound.get(f"contribute_{part.pk}") or f.ContributeForm(prefix=f"c{part.pk}"))
            for part in my_parts
        ]
    forms["can_claim"] = (
        "claim" in allowed
        and case.owner_id is None
        and (is_coordinator(user) or case.owning_department_id in unit_ids(user))
    )
    return forms


def _render_case(request, case, bound=None, status=200):
    detail = selectors.case_detail(request.user, case)
    context = {
        "case": case,
        "detail": detail,
        "section": "list",
        "today": selectors.today(),
        "next_due": selectors.next_due(case),
        "failed_emails": failed_emails_for_case(case),
        "question_attachments": question_attachments(case),
        "can_book_meeting": case.is_open and can_act_on_case(request.user, case),
        **_page_forms(request, case, detail, bound or {}),
    }
    return render(request, "cases/staff/case_detail.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def case_detail(request, reference):
    case = get_visible_case_or_404(request.user, reference=reference)
    audit_case_opened(case, request.user)
    return _render_case(request, case)


# --- Actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    form_name: str | None  # the context name of the form on the case page
    form: Any  # callable(data, case) -> form, or None for one-click actions
    run: Any  # callable(request, case, cleaned_data) -> (service result)
    done: str  # success message


def _field_errors_only(form, error: ValidationError) -> bool:
    """Put a service's field errors on the form; True when every error found a field."""
    if not hasattr(error, "error_dict"):
        return False
    placed = True
    for field, errors in error.error_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            placed = False
    return placed


ACTIONS: dict[str, Action] = {
    "claim": Action(
        None,
        None,
        lambda r, case, d: work.case_claim(case_id=case.pk, actor=r.user),
        gettext_lazy("Du är nu helhetsansvarig för ärendet."),
    ),
    "assign": Action(
        "assign_form",
        lambda data, case: f.AssignForm(data, case=case),
        lambda r, case, d: work.case_assign(case_id=case.pk, actor=r.user, assignee=d["assignee"]),
        gettext_lazy("Ny helhetsansvarig är utsedd."),
    ),
    "transfer_offer": Action(
        "transfer_form",
        lambda data, case: f.TransferOfferForm(data, case=case),
        lambda r, case, d: work.case_transfer_offer(
            case_id=case.pk, actor=r.user, to_department=d["to_department"], reason=d["reason"]
        ),
        gettext_lazy(
            "Överlämningen är skickad. Du är helhetsansvarig tills den mottagande enheten svarar."
        ),
    ),
    "change_areas": Action(
        "areas_form",
        lambda data, case: f.AreasForm(data),
        lambda r, case, d: work.case_change_areas(
            case_id=case.pk, actor=r.user, primary=d["primary"], others=list(d["others"])
        ),
        gettext_lazy("Områdena är ändrade."),
    ),
    "request_contribution": Action(
        "contribution_form",
        lambda data, case: f.ContributionRequestForm(data, case=case),
        lambda r, case, d: work.case_request_contribution(
            case_id=case.pk,
            actor=r.user,
            department=d["department"],
            question=d["question"],
            due_on=d["due_on"],
        ),
        gettext_lazy("Begäran om underlag är skickad."),
    ),
    "reply": Action(
        "reply_form",
        lambda data, case, files=None: f.ReplyForm(data, files),
        lambda r, case, d: work.case_reply(
            case_id=case.pk, actor=r.user, body=d["body"], files=d.get("attachments") or ()
        ),
        gettext_lazy("Svaret är skickat till företaget."),
    ),
    "note": Action(
        "note_form",
        lambda data, case, files=None: f.NoteForm(data, files),
        lambda r, case, d: work.case_add_note(
            case_id=case.pk, actor=r.user, body=d["body"], files=d.get("attachments") or ()
        ),
        gettext_lazy("Anteckningen är sparad."),
    ),
    "wait_for_company": Action(
        "wait_form",
        lambda data, case: f.WaitForCompanyForm(data),
        lambda r, case, d: work.case_wait_for_company(
            case_id=case.pk, actor=r.user, body=d["body"]
        ),
        gettext_lazy("Begäran om komplettering är skickad. Ärendet väntar på företaget."),
    ),
    "close": Action(
        "close_form",
        lambda data, case: f.CloseForm(data),
        lambda r, case, d: work.case_close(case_id=case.pk, actor=r.user, body=d["body"]),
        gettext_lazy("Ärendet är avslutat och det slutliga svaret skickat."),
    ),
    "extend_deadline": Action(
        "extend_form",
        lambda data, case: f.ExtendDeadlineForm(data),
        lambda r, case, d: case_extend_deadline(
            case_id=case.pk, actor=r.user, new_due=d["new_due"], reason=d["reason"]
        ),
        gettext_lazy("Tidsgränsen är ändrad. Företaget ser det nya datumet och skälet."),
    ),
    "reopen": Action(
        "reopen_form",
        lambda data, case: f.ReopenForm(data),
        lambda r, case, d: work.case_reopen(case_id=case.pk, actor=r.user, reason=d["reason"]),
        gettext_lazy("Ärendet är öppnat igen."),
    ),
}


# The forms that carry attachments (multipart).
ATTACHING_FORMS = {"reply_form", "note_form"}


def _run(request, case, action: Action, form=None, form_name=None):
    """Call the service; on success a message and a redirect, else the page with errors."""
    data = form.cleaned_data if form is not None else {}
    try:
        result = action.run(request, case, data)
    except ValidationError as error:
        if form is not None and _field_errors_only(form, error):
            return _render_case(request, case, bound={form_name: form})
        for message in error.messages:
            messages.error(request, message)
        return redirect("staff:case_detail", reference=case.reference)
    if isinstance(result, work.Unchanged):  # nothing to do is not an error
        messages.info(request, result.message)
        return redirect("staff:case_detail", reference=case.reference)
    back = request.POST.get("next", "")
    if back == reverse("staff:home"):  # an action taken from the lead's overview
        messages.success(request, f"{case.reference}: {action.done}")
        return redirect(back)
    messages.success(request, action.done)
    if isinstance(result, work.ContributionRequest) and result.after_case_due:
        messages.warning(
            request,
            _(
                "Observera: svaret från %(unit)s begärs till %(date)s, efter ärendets egen "
                "tidsgräns %(case_due)s. Överväg ett tidigare datum eller förläng tidsgränsen."
            )
            % {
                "unit": result.part.department.name,
                "date": readable_date(result.part.due_on),
                "case_due": readable_date(case.due_at),
            },
        )
    return redirect("staff:case_detail", reference=case.reference)


@require_POST
def case_action(request, reference, action):
    case = get_visible_case_or_404(request.user, reference=reference)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    if spec.form is None:
        return _run(request, case, spec)
    if spec.form_name in ATTACHING_FORMS:
        form = spec.form(request.POST, case, request.FILES)
    else:
        form = spec.form(request.POST, case)
    if not form.is_valid():
        return _render_case(request, case, bound={spec.form_name: form})
    return _run(request, case, spec, form, spec.form_name)


def _pending_transfer(case, pk) -> Transfer:
    return get_object_or_404(Transfer, pk=pk, case=case, status=Transfer.Status.PENDING)


@require_POST
def transfer_accept(request, reference, pk):
    case = get_visible_case_or_404(request.user, reference=reference)
    transfer = _pending_transfer(case, pk)
    form = f.TransferAcceptForm(request.POST, department_id=transfer.to_department_id)
    if not form.is_valid():
        return _render_case(request, case, bound={"accept_form": form})
    spec = Action(
        "accept_form",
        None,
        lambda r, c, d: work.case_transfer_accept(
            transfer_id=transfer.pk, actor=r.user, new_owner=d.get("new_owner")
        ),
        _("Ärendet är mottaget. Företaget har fått veta vem som är helhetsansvarig."),
    )
    return _run(request, case, spec, form, "accept_form")


@require_POST
def transfer_decline(request, reference, pk):
    case = get_visible_case_or_404(request.user, reference=reference)
    transfer = _pending_transfer(case, pk)
    form = f.TransferDeclineForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, bound={"decline_form": form})
    spec = Action(
        "decline_form",
        None,
        lambda r, c, d: work.case_transfer_decline(
            transfer_id=transfer.pk,
            actor=r.user,
            reason=d["reason"],
            suggested_department=d.get("suggested_department"),
        ),
        _("Överlämningen är avböjd. Avsändaren är fortfarande helhetsansvarig."),
    )
    return _run(request, case, spec, form, "decline_form")


def _requested_part(case, pk) -> CaseDepartment:
    return get_object_or_404(CaseDepartment, pk=pk, case=case, requested_at__isnull=False)


@require_POST
def contribution_claim(request, reference, pk):
    case = get_visible_case_or_404(request.user, reference=reference)
    part = _requested_part(case, pk)
    spec = Action(
        None,
        None,
        lambda r, c, d: work.case_claim_contribution(part_id=part.pk, actor=r.user),
        _("Du har tagit begäran om underlag."),
    )
    return _run(request, case, spec)


@require_POST
def contribution_answer(request, reference, pk):
    case = get_visible_case_or_404(request.user, reference=reference)
    part = _requested_part(case, pk)
    form = f.ContributeForm(request.POST, prefix=f"c{part.pk}")
    name = f"contribute_{part.pk}"
    if not form.is_valid():
        return _render_case(request, case, bound={name: form})
    spec = Action(
        name,
        None,
        lambda r, c, d: work.case_contribute(part_id=part.pk, actor=r.user, text=d["text"]),
        _("Underlaget är lämnat till den helhetsansvariga."),
    )
    return _run(request, case, spec, form, name)
