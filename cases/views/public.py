"""The company's side: ask a question, follow the case through a private link."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cases import selectors
from cases.forms import AddFollowerForm, CompanyMessageForm, InquiryForm
from cases.services.company import case_add_follower, case_company_message
from cases.services.intake import case_create
from foretagslots.ratelimit import ratelimit


@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit("ask")
def ask(request):
    form = InquiryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        case, follower = case_create(
            inquiry=form.to_inquiry(), files=form.cleaned_data["attachments"]
        )
        messages.warning(
            request,
            _(
                "Spara länken till den här sidan: den är din väg in i ärendet. Du hittar den "
                "också i e-postmeddelandet."
            ),
        )
        messages.success(
            request,
            _(
                "Tack! Din fråga är registrerad som ärende %(reference)s. Vi har skickat en "
                "bekräftelse till %(email)s."
            )
            % {"reference": case.reference, "email": follower.email},
        )
        return redirect("cases_public:tracking", token=follower.token)
    return render(request, "cases/public/ask.html", {"form": form})


def _follower_or_404(token):
    follower = selectors.follower_by_token(token)
    if follower is None:
        raise Http404
    return follower


def _tracking_context(follower, *, message_form=None, follower_form=None):
    case = follower.case
    areas = selectors.case_areas(case)
    return {
        "case": case,
        "follower": follower,
        "areas": areas,
        "estimates": selectors.completion_estimates(case, areas),
        "final_answer": selectors.public_final_answer(case),
        "timeline": selectors.public_timeline(case),
        "question_attachments": selectors.question_attachments(case),
        "message_form": message_form or CompanyMessageForm(),
        "follower_form": follower_form or AddFollowerForm(),
    }


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def tracking(request, token):
    follower = _follower_or_404(token)
    response = render(request, "cases/public/tracking.html", _tracking_context(follower))
    # The token must not leak to other sites, while the page's own forms keep their Origin
    # header: with "no-referrer" Chromium posts "Origin: null" and the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@never_cache
@require_POST
@ratelimit("tracking")
def tracking_message(request, token):
    follower = _follower_or_404(token)
    form = CompanyMessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            case_company_message(
                follower_id=follower.pk,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Tack! Ditt meddelande har skickats till handläggaren."))
            return redirect("cases_public:tracking", token=token)
    context = _tracking_context(follower, message_form=form)
    return render(request, "cases/public/tracking.html", context, status=200)


@login_not_required
@never_cache
@require_POST
@ratelimit("tracking")
def tracking_add_follower(request, token):
    follower = _follower_or_404(token)
    form = AddFollowerForm(request.POST)
    if form.is_valid():
        try:
            added = case_add_follower(
                follower_id=follower.pk,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s har fått en egen länk till ärendet.") % {"name": added.name},
            )
            return redirect("cases_public:tracking", token=token)
    context = _tracking_context(follower, follower_form=form)
    return render(request, "cases/public/tracking.html", context)
