from django import forms
from django.conf import settings
from django.core import signing
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Case
from cases.orgnr import normalise_org_number
from cases.services.intake import Inquiry
from departments.models import ResponsibilityArea

SUBJECT_MAX = 200
DESCRIPTION_MAX = 10_000
MESSAGE_MAX = 10_000
# A person needs longer than this to fill in the form; scripts usually do not.
_FORM_STARTED_SALT = "cases.inquiry.started"


def _consent_label():
    return format_html(
        '{} <a href="{}">{}</a>',
        _(
            "Jag har läst hur kommunen behandlar personuppgifter och att min fråga blir en "
            "allmän handling."
        ),
        reverse_lazy("privacy"),
        _("Läs om personuppgifter"),
    )


class InquiryForm(forms.Form):
    """The public form. Field names are the form's contract."""

    org_number = forms.CharField(
        label=gettext_lazy("Organisationsnummer"),
        required=False,
        max_length=20,
        help_text=gettext_lazy(
            "Tio siffror, till exempel 556036-0793. Lämna tomt om företaget inte är registrerat än."
        ),
    )
    company_name = forms.CharField(label=gettext_lazy("Företagets namn"), max_length=200)
    contact_name = forms.CharField(label=gettext_lazy("Ditt namn"), max_length=200)
    email = forms.EmailField(label=gettext_lazy("E-postadress"), max_length=254)
    phone = forms.CharField(label=gettext_lazy("Telefon"), required=False, max_length=40)
    area = forms.ModelChoiceField(
        label=gettext_lazy("Vad gäller frågan?"),
        queryset=ResponsibilityArea.objects.active().order_by("name"),
        required=False,
        empty_label=gettext_lazy("Vet ej / annat"),
        help_text=gettext_lazy("Välj om du vet. Vi kontrollerar alltid vem som ska svara."),
    )
    subject = forms.CharField(label=gettext_lazy("Rubrik"), max_length=SUBJECT_MAX)
    description = forms.CharField(
        label=gettext_lazy("Beskriv din fråga"),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy("Berätta vad ni vill göra, var och när. Högst 10 000 tecken."),
    )
    consent = forms.BooleanField(label=lazy(_consent_label, str)(), required=True)
    # Honeypot: hidden from people, filled in by bots.
    website = forms.CharField(
        label=gettext_lazy("Lämna detta fält tomt"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    form_started = forms.CharField(required=False, widget=forms.HiddenInput)

    error_messages_required = {
        "company_name": gettext_lazy("Skriv företagets namn."),
        "contact_name": gettext_lazy("Skriv ditt namn."),
        "email": gettext_lazy("Skriv din e-postadress så att vi kan svara dig."),
        "subject": gettext_lazy("Skriv en rubrik."),
        "description": gettext_lazy("Beskriv din fråga."),
        "consent": gettext_lazy("Du behöver bekräfta att du har läst om personuppgifter."),
    }

    def __init__(self, *args, check_timing=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.check_timing = check_timing
        for name, message in self.error_messages_required.items():
            self.fields[name].error_messages["required"] = message
        self.fields["email"].error_messages["invalid"] = _(
            "Skriv en giltig e-postadress, till exempel namn@foretag.se."
        )
        for name in ("subject", "description"):
            self.fields[name].error_messages["max_length"] = _(
                "Texten får vara högst %(limit_value)d tecken (nu %(show_value)d)."
            )
        if not self.is_bound:
            self.initial["form_started"] = signing.TimestampSigner(salt=_FORM_STARTED_SALT).sign(
                str(int(timezone.now().timestamp()))
            )

    def clean_org_number(self):
        value = self.cleaned_data["org_number"].strip()
        return normalise_org_number(value) if value else ""

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise forms.ValidationError(_("Lämna fältet tomt."))
        return ""

    def clean_form_started(self):
        if not self.check_timing:
            return ""
        signer = signing.TimestampSigner(salt=_FORM_STARTED_SALT)
        try:
            signer.unsign(self.cleaned_data["form_started"], max_age=24 * 3600)
            age = timezone.now().timestamp() - int(signer.unsign(self.cleaned_data["form_started"]))
        except (signing.BadSignature, ValueError):
            raise forms.ValidationError(
                _("Formuläret har gått ut. Kontrollera uppgifterna och skicka igen.")
            ) from None
        if age < settings.FORM_MIN_FILL_SECONDS:
            raise forms.ValidationError(
                _("Formuläret skickades för snabbt. Kontrollera uppgifterna och skicka igen.")
            )
        return ""

    def to_inquiry(self, channel: str = Case.Channel.WEB) -> Inquiry:
        data = self.cleaned_data
        return Inquiry(
            org_number=data["org_number"],
            company_name=data["company_name"].strip(),
            contact_name=data["contact_name"].strip(),
            email=data["email"],
            phone=data["phone"].strip(),
            area=data["area"],
            subject=data["subject"].strip(),
            description=data["description"].strip(),
            channel=channel,
        )


class StaffInquiryForm(InquiryForm):
    """An inquiry that came by phone, e-mail or visit, registered by staff."""

    channel = forms.ChoiceField(
        label=gettext_lazy("Hur kom frågan in?"),
        choices=[c for c in Case.Channel.choices if c[0] != Case.Channel.WEB],
    )

    def __init__(self, *args, **kwargs):
        kwargs["check_timing"] = False
        super().__init__(*args, **kwargs)
        del self.fields["website"]
        del self.fields["form_started"]
        self.fields["consent"].label = gettext_lazy(
            "Företaget har informerats om hur kommunen behandlar personuppgifter."
        )
        self.order_fields(["channel"])

    def clean_website(self):
        return ""


class CompanyMessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Skriv till handläggaren"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": gettext_lazy("Skriv ett meddelande.")},
    )


class AddFollowerForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Namn"),
        max_length=200,
        error_messages={"required": gettext_lazy("Skriv personens namn.")},
    )
    email = forms.EmailField(
        label=gettext_lazy("E-postadress"),
        max_length=254,
        error_messages={
            "required": gettext_lazy("Skriv personens e-postadress."),
            "invalid": gettext_lazy("Skriv en giltig e-postadress, till exempel namn@foretag.se."),
        },
    )
