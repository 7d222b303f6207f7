"""Public records on the staff side: secrecy marking, release (utlämnande), the audit log."""

from functools import partial

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cases.audit import audit_log
from cases.models import Message
from cases.permissions import can_act_on_case, get_visible_case_or_404
from records import services as records


class ConfidentialityForm(forms.Form):
    confidential = forms.TypedChoiceField(
        choices=[("1", gettext_lazy("Sekretessmarkera")), ("0", gettext_lazy("Ta bort"))],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(
        label=gettext_lazy("Skäl (till exempel bestämmelse i OSL)"),
        required=False,
        max_length=500,
    )


class ExportForm(forms.Form):
    include_secret = forms.BooleanField(
        label=gettext_lazy("Ta med sekretessmarkerat innehåll (markerat som sekretess)"),
        required=False,
        help_text=gettext_lazy(
            "Lämna omarkerat för ett utlämnande till allmänheten: sekretessmarkerat innehåll "
            "maskeras då."
        ),
    )


def _show_errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _set_confidential(request, case, mark, marked_text, unmarked_text):
    """Run `mark(confidential=..., reason=...)` from the posted form; errors become messages."""
    form = ConfidentialityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Sekretessmarkeringen kunde inte ändras. Försök igen."))
        return redirect("staff:case_detail", reference=case.reference)
    confidential = form.cleaned_data["confidential"]
    try:
        mark(actor=request.user, confidential=confidential, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(request, marked_text if confidential else unmarked_text)
    return redirect("staff:case_detail", reference=case.reference)


@require_POST
def case_confidential(request, reference):
    case = get_visible_case_or_404(request.user, reference=reference)
    return _set_confidential(
        request,
        case,
        partial(records.case_mark_confidential, case_id=case.pk),
        _("Ärendet är sekretessmarkerat."),
        _("Sekretessmarkeringen är borttagen."),
    )


@require_POST
def message_confidential(request, reference, pk):
    case = get_visible_case_or_404(request.user, reference=reference)
    message = get_object_or_404(Message, pk=pk, case=case)
    return _set_confidential(
        request,
        case,
        partial(records.message_mark_confidential, message_id=message.pk),
        _("Meddelandet är sekretessmarkerat."),
        _("Sekretessmarkeringen av meddelandet är borttagen."),
    )


@require_http_methods(["GET", "HEAD", "POST"])
def case_export(request, reference):
    """Utlämnande: a page explaining the export, and the JSON file on POST."""
    case = get_visible_case_or_404(request.user, reference=reference)
    may_include_secret = can_act_on_case(request.user, case)
    form = ExportForm(request.POST if request.method == "POST" else None)
    if not may_include_secret:
        form.fields["include_secret"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            export = records.case_export(
                case_id=case.pk,
                actor=request.user,
                include_secret=form.cleaned_data["include_secret"] and may_include_secret,
            )
        except ValidationError as error:
            _show_errors(request, error)
        else:
            response = HttpResponse(export.content, content_type=export.content_type)
            response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
            response["Cache-Control"] = "no-store"
            return response
    return render(
        request,
        "records/export.html",
        {"case": case, "form": form, "may_include_secret": may_include_secret},
    )


@require_http_methods(["GET", "HEAD"])
def case_audit_log(request, reference):
    """The coordinator reads who did and opened what in a case."""
    case = get_visible_case_or_404(request.user, reference=reference)
    if not request.user.has_perm("cases.view_audit_log"):
        raise PermissionDenied(_("Bara lotssamordnaren kan läsa granskningsloggen."))
    return render(
        request,
        "records/audit_log.html",
        {"case": case, "events": audit_log(case)},
    )
