import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from departments.models import Department, Membership

User = get_user_model()


class _WhenMixin(forms.Form):
    """Date and start/end time in Swedish local time."""

    date = forms.DateField(
        label=gettext_lazy("Datum"), widget=forms.DateInput(attrs={"type": "date"})
    )
    start_time = forms.TimeField(
        label=gettext_lazy("Börjar"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_time = forms.TimeField(
        label=gettext_lazy("Slutar"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    place = forms.CharField(label=gettext_lazy("Plats"), max_length=200, required=False)
    video_link = forms.URLField(
        label=gettext_lazy("Länk till videomöte"),
        max_length=500,
        required=False,
        assume_scheme="https",
    )

    def clean(self):
        cleaned = super().clean()
        date, start, end = (cleaned.get(k) for k in ("date", "start_time", "end_time"))
        if date and start and end:
            tz = ZoneInfo(settings.TIME_ZONE)
            cleaned["starts_at"] = dt.datetime.combine(date, start, tzinfo=tz)
            cleaned["ends_at"] = dt.datetime.combine(date, end, tzinfo=tz)
            if end <= start:
                self.add_error("end_time", _("Mötet måste sluta efter att det börjar."))
        nowhere = not cleaned.get("place", "").strip() and not cleaned.get("video_link")
        if nowhere and "place" not in self.errors and "video_link" not in self.errors:
            self.add_error("place", _("Ange en plats eller en länk till videomötet."))
        return cleaned

    @staticmethod
    def initial_for(starts_at, ends_at):
        tz = ZoneInfo(settings.TIME_ZONE)
        start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
        return {"date": start.date(), "start_time": start.time(), "end_time": end.time()}


class _UnitsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class CompanyMeetingForm(_WhenMixin):
    company_participants = forms.CharField(
        label=gettext_lazy("Deltagare från företaget"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Namn och roll, en person per rad."),
    )
    departments = _UnitsField(
        label=gettext_lazy("Inbjudna enheter"),
        queryset=Department.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Bjud in minst en enhet.")},
        help_text=gettext_lazy(
            "Förslaget bygger på ärendets områden och de enheter som brukar tillfrågas."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = Department.objects.active().order_by("name")
        self.order_fields(
            ["date", "start_time", "end_time", "place", "video_link", "company_participants"]
        )


class InternalMeetingForm(_WhenMixin):
    title = forms.CharField(
        label=gettext_lazy("Rubrik"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Lämna tomt för ”Samverkansmöte” och datumet."),
    )
    departments = _UnitsField(
        label=gettext_lazy("Inbjudna enheter"),
        queryset=Department.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Bjud in minst en enhet.")},
    )
    agenda = forms.MultipleChoiceField(
        label=gettext_lazy("Dagordning (föreslagen utifrån ärendena)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, proposals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = Department.objects.active().order_by("name")
        self.fields["agenda"].choices = [
            (p.key, f"{p.title} – {'; '.join(str(r) for r in p.reasons)}") for p in proposals
        ]
        self.order_fields(["title", "date", "start_time", "end_time", "place", "video_link"])


class AttendeesForm(forms.Form):
    attendees = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Deltagare från enheten"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, department=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = User.objects.filter(
            memberships__department=department
        ).distinct()


class MinutesForm(forms.Form):
    minutes = forms.CharField(
        label=gettext_lazy("Minnesanteckningar"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy("Visas för företaget när de publiceras."),
    )
    decisions = forms.CharField(
        label=gettext_lazy("Beslut"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Visas för företaget när minnesanteckningarna publiceras."),
    )
    internal_notes = forms.CharField(
        label=gettext_lazy("Interna anteckningar"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Visas aldrig för företaget."),
    )
    attended = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Enheter som deltog"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    publish = forms.BooleanField(
        label=gettext_lazy("Publicera och skicka minnesanteckningarna och åtgärderna"),
        required=False,
    )

    def __init__(self, *args, invitations=(), for_company=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attended"].choices = [
            (inv.department_id, inv.department.name) for inv in invitations
        ]
        if not for_company:  # a samverkansmöte: nothing of it reaches a company
            self.fields["minutes"].help_text = gettext_lazy(
                "Går till de inbjudna enheterna när de publiceras."
            )
            self.fields["decisions"].help_text = gettext_lazy(
                "Går till de inbjudna enheterna med minnesanteckningarna."
            )
            self.fields["internal_notes"].help_text = gettext_lazy(
                "Sparas med mötet men skickas inte ut."
            )
            self.fields["publish"].label = gettext_lazy(
                "Publicera och skicka minnesanteckningarna och åtgärderna till enheterna"
            )


class _OwnerSelect(forms.Select):
    """Each person carries the units they belong to, so that the list can show only the
    chosen unit's people."""

    def __init__(self, *args, units_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.units_of = units_of or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        key = getattr(value, "value", value)
        if key:
            option["attrs"]["data-units"] = " ".join(
                str(pk) for pk in sorted(self.units_of.get(int(key), ()))
            )
        return option


class _OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class ActionItemForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Åtgärd"),
        max_length=200,
        help_text=gettext_lazy("Visas för företaget vid ett lotsmöte."),
    )
    department = forms.ModelChoiceField(
        label=gettext_lazy("Enhet"),
        queryset=Department.objects.none(),
        empty_label=gettext_lazy("Välj enhet"),
        widget=forms.Select(attrs={"data-owner-filter": "id_owner"}),
    )
    owner = _OwnerField(
        label=gettext_lazy("Ansvarig person"),
        queryset=User.objects.none(),
        empty_label=gettext_lazy("Välj person i enheten"),
        help_text=gettext_lazy("Listan visar personerna i den valda enheten."),
    )
    due_on = forms.DateField(
        label=gettext_lazy("Klart senast"), widget=forms.DateInput(attrs={"type": "date"})
    )
    description = forms.CharField(
        label=gettext_lazy("Intern beskrivning"),
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Visas aldrig för företaget."),
    )

    def __init__(self, *args, department_ids=None, cases=(), for_company=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not for_company:
            self.fields["title"].help_text = gettext_lazy(
                "Går till den ansvariga och syns för de inbjudna enheterna."
            )
            self.fields["description"].label = gettext_lazy("Beskrivning")
            self.fields["description"].help_text = gettext_lazy("Syns för de inbjudna enheterna.")
        if cases:
            self.fields["case"] = forms.TypedChoiceField(
                label=gettext_lazy("Ärende"),
                choices=[("", gettext_lazy("Inget ärende"))]
                + [(case.pk, f"{case.reference} {case.subject}") for case in cases],
                coerce=int,
                empty_value=None,
                required=False,
                help_text=gettext_lazy("Åtgärden syns i ärendets tidslinje."),
            )
        departments = Department.objects.active().order_by("name")
        if department_ids:
            departments = departments.filter(pk__in=department_ids)
        self.fields["department"].queryset = departments
        memberships = Membership.objects.filter(department__in=departments)
        self.fields["owner"].queryset = User.objects.filter(
            is_active=True, pk__in=memberships.values("user_id")
        ).order_by("first_name", "last_name", "username")
        units_of: dict[int, set[int]] = {}
        for user_id, department_id in memberships.values_list("user_id", "department_id"):
            units_of.setdefault(user_id, set()).add(department_id)
        self.fields["owner"].widget = _OwnerSelect(units_of=units_of)
        self.fields["owner"].widget.choices = self.fields["owner"].choices


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Skäl till att mötet ställs in"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
