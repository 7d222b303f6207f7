import secrets

from django import forms
from django.conf import settings
from django.core import signing
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from cases.models import Case
from cases.orgnr import normalise_org_number
from cases.phone import clean_phone
from cases.services.intake import Inquiry
from departments.models import ResponsibilityArea
from foretagslots import cache_ops

SUBJECT_MAX = 200
DESCRIPTION_MAX = 10_000
MESSAGE_MAX = 10_000
# A person needs longer than this to fill in the form; scripts usually do not.
_FORM_STARTED_SALT = "cases.inquiry.started"
# A start value for load tests (manage.py bench_seed --form-started): signed with its own salt,
# so only someone holding SECRET_KEY can mint one, and accepted more than once.
_LOAD_TEST_STARTED_SALT = "cases.inquiry.started.load-test"
_STARTED_MAX_AGE = 24 * 3600


def form_started_value(*, at: float | None = None, load_test: bool = False) -> str:
    """A signed "form started" value ("timestamp:nonce") for the moment `at` (default now).
    A load-test value is accepted repeatedly; an ordinary one once (FORM_STARTED_SINGLE_USE)."""
    moment = int(timezone.now().timestamp() if at is None else at)
    salt = _LOAD_TEST_STARTED_SALT if load_test else _FORM_STARTED_SALT
    return signing.TimestampSigner(salt=salt).sign(f"{moment}:{secrets.token_urlsafe(12)}")


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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files; cleaned to checked `PreparedFile`s (type from content, size, count),
    with a Swedish message at the field when one is refused."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        from cases.services.attachments import ALLOWED_TYPES

        kwargs.setdefault("label", gettext_lazy("Bifoga filer"))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", ",".join(f".{ext}" for ext in ALLOWED_TYPES))

    def clean(self, data, initial=None):
        from cases.services.attachments import prepare_files

        uploads = data if isinstance(data, list | tuple) else [data] if data else []
        uploads = [super(AttachmentsField, self).clean(upload, initial) for upload in uploads]
        return prepare_files(uploads)


class ChooseFilesAgainMixin:
    """A browser cannot keep chosen files when the page comes back with an error, and nothing
    is saved until the form is right: the attachments field then names the files to choose
    again (a file refused for its own sake has its own message and is not asked for; an error
    about all of them, such as too many files, is left to speak for itself)."""

    def full_clean(self):
        super().full_clean()
        if not self.is_bound or not self._errors or "attachments" not in self.fields:
            return
        getlist = getattr(self.files, "getlist", None)
        uploads = getlist(self.add_prefix("attachments")) if getlist else []
        own = [f" {message} " for message in self._errors.get("attachments", [])]
        names = [u.name for u in uploads if u and not any(f" {u.name} " in m for m in own)]
        if names and len(names) + len(own) == len(uploads):  # else the field says why
            self.add_error(
                "attachments",
                ngettext(
                    "Välj filen %(names)s igen: filer sparas först när allt i formuläret är rätt.",
                    "Välj filerna %(names)s igen: filer sparas först när allt i formuläret "
                    "är rätt.",
                    len(names),
                )
                % {"names": ", ".join(names)},
            )


def attachments_field():
    from cases.services.attachments import limits_text

    return AttachmentsField(help_text=lazy(limits_text, str)())


class AreaChoiceIterator(forms.models.ModelChoiceIterator):
    """In English the areas are sorted by their English name (the queryset sorts by the
    Swedish one)."""

    def __iter__(self):
        choices = list(super().__iter__())
        if get_language() != "en":
            return iter(choices)
        empty = [choice for choice in choices if choice[0] == ""]
        rest = sorted((c for c in choices if c[0] != ""), key=lambda c: str(c[1]).casefold())
        return iter(empty + rest)


class AreaChoiceField(forms.ModelChoiceField):
    """Areas by their name in the page's language (the English name with the Swedish one after
    it, as on the responsibility map)."""

    iterator = AreaChoiceIterator

    def label_from_instance(self, obj):
        if obj.local_name != obj.name:
            return f"{obj.local_name} ({obj.name})"
        return obj.name


class InquiryForm(ChooseFilesAgainMixin, forms.Form):
    """The public form. Field names are the form's contract."""

    org_number = forms.CharField(
        label=gettext_lazy("Organisationsnummer"),
        required=False,
        max_length=20,
        help_text=gettext_lazy(
            "Tio siffror, till exempel 556036-0793. Lämna tomt om företaget inte är registrerat än."
        ),
    )
    # autocomplete: the browser may fill in the company's own details (WCAG 1.3.5)
    company_name = forms.CharField(
        label=gettext_lazy("Företagets namn"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    contact_name = forms.CharField(
        label=gettext_lazy("Ditt namn"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=gettext_lazy("E-postadress"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Telefon"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    area = AreaChoiceField(
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

    attachments = attachments_field()

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
            # When the form was shown, and a nonce that makes this copy usable once.
            self.initial["form_started"] = form_started_value()

    def clean_org_number(self):
        value = self.cleaned_data["org_number"].strip()
        return normalise_org_number(value) if value else ""

    def clean_phone(self):
        return clean_phone(self.cleaned_data["phone"])

    def clean(self):
        """The bot checks: the hidden field left empty, a genuine start time old enough, and
        that copy of the form not used before. Whichever fails, one message that does not say
        which (a bot learns nothing; a person simply sends again)."""
        cleaned = super().clean()
        honeypot = "website" in self.fields and self.data.get("website")
        if honeypot or (self.check_timing and not self._started_ok()):
            self.add_error(
                None,
                _(
                    "Formuläret kunde inte tas emot. Vänta en liten stund, kontrollera "
                    "uppgifterna och skicka igen."
                ),
            )
        return cleaned

    def _started_ok(self) -> bool:
        raw = self.data.get("form_started", "")
        reusable = False
        try:
            try:
                value = signing.TimestampSigner(salt=_FORM_STARTED_SALT).unsign(
                    raw, max_age=_STARTED_MAX_AGE
                )
            except signing.SignatureExpired:
                return False
            except signing.BadSignature:
                value = signing.TimestampSigner(salt=_LOAD_TEST_STARTED_SALT).unsign(
                    raw, max_age=_STARTED_MAX_AGE
                )
                reusable = True
            timestamp, nonce = value.split(":", 1)
            age = timezone.now().timestamp() - int(timestamp)
        except (signing.BadSignature, ValueError):
            return False
        if age < settings.FORM_MIN_FILL_SECONDS:
            return False
        if self.errors or not settings.FORM_STARTED_SINGLE_USE:
            return True  # used up only by a submission that is otherwise accepted
        if reusable:
            # A load-test value is not used up, but it pays the same cache round trip as an
            # ordinary one (an add of a key unique to this request), so that a load test posting
            # one value measures what a real submission costs.
            nonce = f"load-test:{secrets.token_urlsafe(12)}"
        try:
            added = cache_ops.add(f"form-started:{nonce}", 1, timeout=_STARTED_MAX_AGE + 60)
        except Exception:  # the cache is down: the other checks still hold
            return True
        return added or reusable

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

    attachments = None  # documents come with a reply or note on the case page

    channel = forms.ChoiceField(
        label=gettext_lazy("Hur kom frågan in?"),
        choices=[c for c in Case.Channel.choices if c[0] != Case.Channel.WEB],
    )

    def __init__(self, *args, **kwargs):
        kwargs["check_timing"] = False
        super().__init__(*args, **kwargs)
        del self.fields["website"]
        del self.fields["form_started"]
        # the details are the caller's, not the officer's own: no autofill
        for name in ("company_name", "contact_name", "email", "phone"):
            self.fields[name].widget.attrs["autocomplete"] = "off"
        self.fields["consent"].label = gettext_lazy(
            "Företaget har informerats om hur kommunen behandlar personuppgifter."
        )
        self.fields["consent"].error_messages["required"] = gettext_lazy(
            "Bekräfta att företaget har informerats om hur kommunen behandlar personuppgifter."
        )
        # The caller is the company's contact person, and not every company has e-mail.
        self.fields["contact_name"].label = gettext_lazy("Kontaktperson")
        self.fields["contact_name"].error_messages["required"] = gettext_lazy(
            "Skriv kontaktpersonens namn."
        )
        self.fields["email"].required = False
        self.fields["email"].help_text = gettext_lazy(
            "Lämna tomt om företaget inte har e-post. Då skickas ingen e-post; svara per "
            "telefon eller brev."
        )
        self.order_fields(["channel"])


class CompanyMessageForm(ChooseFilesAgainMixin, forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Ditt meddelande"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": gettext_lazy("Skriv ett meddelande.")},
    )
    attachments = attachments_field()


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
