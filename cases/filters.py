"""The filters of "Alla ärenden", one FilterSet for the staff list and the coordinator's CSV
export of cases (insights.selectors.case_list): the same URL parameters, labels and checks.

The dropdowns of units, areas and people take their choices from cases.choices, so building
the form costs no query; the form's class is built once per version of those choices and
renders their options once per language (`SharedOptionsSelect`)."""

import copy

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from cases.choices import (
    PlainCheckboxInput,
    PlainInputMixin,
    PlainSelect,
    PlainTextInput,
    SharedOptionsSelect,
    filter_choices,
)
from cases.forms_staff import DATE_ERRORS, DateInput
from cases.models import Case, CaseArea

MAX_WORDS = 10


class _SharedChoicesField(forms.TypedChoiceField):
    """A dropdown whose choices (the cached lists of cases.choices, never changed in place) are
    shared by the copies Django makes of a form's fields for each form, not deep-copied."""

    def __deepcopy__(self, memo):
        result = forms.Field.__deepcopy__(self, memo)
        result._choices = self._choices
        return result


class _PlainDateInput(PlainInputMixin, DateInput):
    pass


class _BooleanField(forms.BooleanField):
    widget = PlainCheckboxInput


class _TypedChoiceFilter(django_filters.Filter):
    field_class = _SharedChoicesField


class _ChoiceFilter(django_filters.Filter):
    field_class = forms.ChoiceField


class _CheckboxFilter(django_filters.Filter):
    """A checkbox: ticked filters, unticked leaves the list as it is."""

    field_class = _BooleanField

    def filter(self, qs, value):
        return super().filter(qs, True) if value else qs


def _id_choice(label, **kwargs):
    """A dropdown of ids; its choices are set from the cache for each FilterSet."""
    return _TypedChoiceFilter(
        label=label, coerce=int, empty_value=None, widget=SharedOptionsSelect, choices=[], **kwargs
    )


class CaseFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            self.add_error(
                "received_to", _("Slutdatumet måste vara samma dag som eller efter startdatumet.")
            )
        return data


# FilterSet class -> (the choices its form class was built for, that form class).
_built: dict[type, tuple[dict, type]] = {}


class CaseFilter(django_filters.FilterSet):
    """Cases matching the words and the filters, among the cases `queryset` holds (the
    caller passes the ones the user may see)."""

    q = django_filters.CharFilter(
        label=_("Sök"),
        method="filter_words",
        max_length=200,
        widget=PlainTextInput,
        help_text=_("Ärendenummer, företag, organisationsnummer eller ord i rubrik och text."),
    )
    status = _ChoiceFilter(
        label=_("Status"),
        method="filter_status",
        choices=[("", _("Alla")), ("open", _("Alla öppna")), *Case.Status.choices],
        widget=PlainSelect,
    )
    unit = _id_choice(_("Ansvarig enhet"), field_name="owning_department")
    area = _id_choice(_("Område"), method="filter_area")
    owner = _id_choice(_("Helhetsansvarig"), field_name="owner")
    unowned = _CheckboxFilter(
        label=_("Bara utan helhetsansvarig"), field_name="owner", lookup_expr="isnull"
    )
    overdue = _CheckboxFilter(label=_("Bara förfallna"), method="filter_overdue")
    channel = _ChoiceFilter(
        label=_("Kanal"),
        field_name="channel",
        choices=[("", _("Alla")), *Case.Channel.choices],
        widget=PlainSelect,
    )
    received_from = django_filters.DateFilter(
        label=_("Inkom från och med"),
        field_name="received_at",
        lookup_expr="date__gte",
        widget=_PlainDateInput(),
        error_messages=DATE_ERRORS,
    )
    received_to = django_filters.DateFilter(
        label=_("Inkom till och med"),
        field_name="received_at",
        lookup_expr="date__lte",
        widget=_PlainDateInput(),
        error_messages=DATE_ERRORS,
    )

    class Meta:
        form = CaseFilterForm

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # FilterSet.__init__ with a shallow copy of each filter and its `extra` (a deepcopy
        # copied every label, choice and widget on each page view); a filter's other state
        # is its parent and its FilterMethod, set here.
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = Case.objects.all() if queryset is None else queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {}
        for name, base in self.base_filters.items():
            filter_ = copy.copy(base)
            filter_.extra = dict(base.extra)
            filter_.model = self.queryset.model
            filter_.parent = self
            if base.method is not None:
                filter_.method = base.method  # a FilterMethod bound to this copy
            self.filters[name] = filter_

    def get_form_class(self):
        """The form class built for the current choices, reused while they hold (building
        it copies and normalises ~130 choices per dropdown)."""
        choices = filter_choices()
        built_for, form_class = _built.get(type(self), (None, None))
        if built_for is not choices:
            everyone = [("", _("Alla"))]  # lazy: the class serves every language
            for name, options in choices.items():
                self.filters[name].extra["choices"] = everyone + options
            form_class = super().get_form_class()
            _built[type(self)] = (choices, form_class)
        return form_class

    def filter_words(self, queryset, _name, value):
        for word in value.split()[:MAX_WORDS]:
            digits = "".join(ch for ch in word if ch.isdigit())
            match = (
                Q(reference__icontains=word)
                | Q(company__name__icontains=word)
                | Q(subject__icontains=word)
                | Q(description__icontains=word)
                | Q(contact_name__icontains=word)
            )
            if len(digits) >= 4:
                org = digits if len(digits) < 7 else f"{digits[:6]}-{digits[6:]}"
                match |= Q(company__org_number__contains=org)
            queryset = queryset.filter(match)
        return queryset

    def filter_status(self, queryset, _name, value):
        return queryset.open() if value == "open" else queryset.filter(status=value)

    def filter_area(self, queryset, _name, value):
        return queryset.filter(Exists(CaseArea.objects.filter(case=OuterRef("pk"), area=value)))

    def filter_overdue(self, queryset, _name, value):
        return queryset.overdue() if value else queryset

    @property
    def cases(self):
        """The filtered cases, newest first; all of them while the form has errors (the
        errors are shown at their fields)."""
        queryset = self.qs if not self.is_bound or self.is_valid() else self.queryset
        return queryset.order_by("-received_at", "-pk")
