"""Forms of the officers' workspace. Every field has a Swedish label and a Swedish message
for each error."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.choices import (
    ListedModelChoiceField,
    ListedModelMultipleChoiceField,
    PlainSelectMultiple,
)
from cases.deadlines import add_working_days
from cases.forms import MESSAGE_MAX, ChooseFilesAgainMixin, attachments_field
from cases.models import Case
from departments.models import Department, ResponsibilityArea

User = get_user_model()


class PersonChoiceField(ListedModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


def _text(label, required_message, rows=5, help_text=""):
    return forms.CharField(
        label=label,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        error_messages={
            "required": required_message,
            "max_length": _("Texten får vara högst %(limit_value)d tecken (nu %(show_value)d)."),
        },
    )


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


DATE_ERRORS = {"invalid": _("Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-03-15.")}


# --- Actions on a case ---------------------------------------------------------------------


class ActionForm(forms.Form):
    """The case page holds many forms at once; each gets its own element ids so that every
    label points at its own field."""

    id_prefix = "action"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class ReplyForm(ChooseFilesAgainMixin, ActionForm):
    id_prefix = "reply"

    body = _text(
        _("Svar till företaget"),
        _("Skriv svaret till företaget."),
        help_text=_("Skickas med e-post till alla som följer ärendet och visas på deras sida."),
    )
    attachments = attachments_field()


class NoteForm(ChooseFilesAgainMixin, ActionForm):
    id_prefix = "note"

    body = _text(
        _("Intern anteckning"),
        _("Skriv anteckningen."),
        rows=3,
        help_text=_("Visas bara för handläggare, aldrig för företaget."),
    )
    attachments = attachments_field()


class WaitForCompanyForm(ActionForm):
    id_prefix = "wait"

    body = _text(
        _("Vad behöver företaget komplettera med?"),
        _("Skriv vad företaget behöver komplettera med."),
        rows=4,
        help_text=_("Skickas till företaget. Tiden stannar tills företaget svarar."),
    )


class CloseForm(ActionForm):
    id_prefix = "close"

    body = _text(
        _("Slutligt svar till företaget"),
        _("Skriv det slutliga svaret till företaget."),
        rows=6,
        help_text=_("Ärendet avslutas och svaret skickas till alla som följer ärendet."),
    )


class ReopenForm(ActionForm):
    id_prefix = "reopen"

    reason = _text(_("Varför öppnas ärendet igen?"), _("Skriv varför ärendet öppnas igen."), 3)


class ExtendDeadlineForm(ActionForm):
    id_prefix = "extend"

    new_due = forms.DateField(
        label=_("Ny tidsgräns"),
        widget=DateInput(),
        help_text=_("En arbetsdag efter nuvarande tidsgräns."),
        error_messages={**DATE_ERRORS, "required": _("Ange det nya datumet.")},
    )
    reason = _text(
        _("Skäl"),
        _("Skriv varför tidsgränsen ändras. Företaget ser skälet."),
        rows=3,
        help_text=_("Visas för företaget tillsammans med det nya datumet."),
    )


class AssignForm(ActionForm):
    id_prefix = "assign"

    assignee = PersonChoiceField(
        label=_("Ny helhetsansvarig"),
        queryset=User.objects.none(),
        empty_label=_("Välj handläggare"),
        error_messages={"required": _("Välj en handläggare.")},
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = (
            User.objects.filter(memberships__department_id=case.owning_department_id)
            .filter(is_active=True)
            .exclude(pk=case.owner_id)  # choosing the owner again would change nothing
            .order_by("first_name", "last_name", "username")
            .distinct()
        )


class TransferOfferForm(ActionForm):
    id_prefix = "transfer"

    to_department = ListedModelChoiceField(
        label=_("Lämna över till enhet"),
        queryset=Department.objects.none(),
        empty_label=_("Välj enhet"),
        error_messages={"required": _("Välj vilken enhet som ska ta över ärendet.")},
    )
    reason = _text(
        _("Skäl till överlämningen"),
        _("Skriv varför ärendet ska lämnas över."),
        rows=3,
        help_text=_("Du är helhetsansvarig tills den mottagande enheten har accepterat."),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_department"].queryset = Department.objects.active().exclude(
            pk=case.owning_department_id
        )


class TransferAcceptForm(ActionForm):
    id_prefix = "accept"

    new_owner = PersonChoiceField(
        label=_("Helhetsansvarig hos er"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Jag själv"),
        help_text=_("Enhetschefen kan utse en kollega; annars blir du helhetsansvarig."),
    )

    def __init__(self, *args, department_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = (
            User.objects.filter(memberships__department_id=department_id, is_active=True)
            .order_by("first_name", "last_name", "username")
            .distinct()
        )


class TransferDeclineForm(ActionForm):
    id_prefix = "decline"

    reason = _text(
        _("Varför tar enheten inte emot ärendet?"),
        _("Skriv varför enheten inte tar emot ärendet."),
        rows=3,
    )
    suggested_department = ListedModelChoiceField(
        label=_("Vilken enhet äger frågan, tror ni?"),
        queryset=Department.objects.active(),
        required=False,
        empty_label=_("Vet inte"),
    )


class AreasForm(ActionForm):
    id_prefix = "areas"

    primary = ListedModelChoiceField(
        label=_("Huvudområde"),
        queryset=ResponsibilityArea.objects.active().select_related("owner").order_by("name"),
        empty_label=_("Välj område"),
        error_messages={"required": _("Välj ärendets huvudområde.")},
    )
    others = ListedModelMultipleChoiceField(
        label=_("Övriga områden"),
        queryset=ResponsibilityArea.objects.active().order_by("name"),
        required=False,
        widget=PlainSelectMultiple(attrs={"size": 6}),
        help_text=_("Håll ned Ctrl (Cmd på Mac) för att välja flera."),
    )


class ContributionRequestForm(ActionForm):
    id_prefix = "contribution"

    department = ListedModelChoiceField(
        label=_("Enhet som ska lämna underlag"),
        queryset=Department.objects.none(),
        empty_label=_("Välj enhet"),
        error_messages={"required": _("Välj vilken enhet du vill fråga.")},
    )
    question = _text(_("Fråga till enheten"), _("Skriv vad enheten ska svara på."), rows=3)
    due_on = forms.DateField(
        label=_("Svar senast"),
        widget=DateInput(),
        error_messages={**DATE_ERRORS, "required": _("Ange när svaret behövs.")},
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.active().exclude(
            pk=case.owning_department_id
        )
        if not self.is_bound:
            self.initial.setdefault("due_on", add_working_days(timezone.localdate(), 3))


class ContributeForm(ActionForm):
    id_prefix = "contribute"

    text = _text(
        _("Enhetens underlag eller yttrande"),
        _("Skriv enhetens underlag eller yttrande."),
        rows=5,
        help_text=_("Går till den helhetsansvariga, inte till företaget."),
    )
