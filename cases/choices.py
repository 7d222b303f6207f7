"""The staff list's dropdowns (units, areas, people), read once and cached.

Every page view of "Alla ärenden" shows the same ~130 options. They are kept in the cache
as plain lists and emptied (after commit) whenever a unit, an area, a user or a membership
is saved or deleted, so a page view costs one cache read and no query, and the options are
rendered by a select widget that builds its HTML in Python instead of one template per
option.

The same widgets serve the case page's dropdowns (`ListedModelChoiceField`,
`ListedModelMultipleChoiceField`): their few dozen rows are read with one ordinary query (a
ModelChoiceField's iterator opens a server-side cursor, three round trips on PostgreSQL) and
the options are joined in Python.
"""

import logging
from functools import partial
from html import escape

from django import forms
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.forms.models import ModelChoiceIterator
from django.utils.safestring import mark_safe

logger = logging.getLogger(__name__)

CACHE_KEY = "cases:filter-choices:v1"
CACHE_SECONDS = 3600


def _load() -> dict[str, list[tuple[int, str]]]:
    from departments.models import Department, ResponsibilityArea

    people = (
        get_user_model()
        .objects.filter(memberships__isnull=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    )
    return {
        "unit": list(Department.objects.order_by("name").values_list("pk", "name")),
        "area": list(ResponsibilityArea.objects.order_by("name").values_list("pk", "name")),
        "owner": [
            (pk, f"{first} {last}".strip() or username) for pk, first, last, username in people
        ],
    }


def filter_choices() -> dict[str, list[tuple[int, str]]]:
    """The cached choices; read from the database when the cache is empty or unreachable
    (the list page never depends on the cache being up)."""
    try:
        choices = cache.get(CACHE_KEY)
    except Exception:
        logger.warning("Cache unavailable; filter choices read from the database")
        return _load()
    if choices is None:
        choices = _load()
        _quietly(cache.set, CACHE_KEY, choices, CACHE_SECONDS)
    return choices


def forget_filter_choices(**_kwargs) -> None:
    # Now (this transaction reads its own change) and after commit (others read it then).
    _quietly(cache.delete, CACHE_KEY)
    transaction.on_commit(partial(_quietly, cache.delete, CACHE_KEY))


def _quietly(operation, *args) -> None:
    """A cache write that must not fail the save or the page that caused it (a stale entry
    expires after CACHE_SECONDS)."""
    try:
        operation(*args)
    except Exception:
        logger.warning("Cache unavailable; filter choices not updated in the cache")


def connect_signals() -> None:
    from departments.models import Department, Membership, ResponsibilityArea

    for model in (Department, ResponsibilityArea, Membership, get_user_model()):
        uid = f"cases.choices:{model._meta.label}"
        post_save.connect(forget_filter_choices, sender=model, dispatch_uid=f"{uid}:save")
        post_delete.connect(forget_filter_choices, sender=model, dispatch_uid=f"{uid}:delete")


def _text(value) -> str:
    """Escaped like Django's conditional_escape: safe strings as they are, others escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))


class PlainSelect(forms.Select):
    """A single select whose options are joined in Python (no template per option)."""

    def _selected(self, value) -> set[str]:
        return set() if value is None else {str(value)}

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        selected = self._selected(value)
        options = "".join(
            f'<option value="{_text(key)}"{" selected" if str(key) in selected else ""}>'
            f"{_text(label)}</option>"
            for key, label in self.choices
        )
        attributes = "".join(
            f" {_text(key)}" if val is True else f' {_text(key)}="{_text(val)}"'
            for key, val in attrs.items()
            if val is not None and val is not False
        )
        return mark_safe(f'<select name="{_text(name)}"{attributes}>{options}</select>')


class PlainSelectMultiple(PlainSelect):
    allow_multiple_selected = True

    def build_attrs(self, base_attrs, extra_attrs=None):
        return {**super().build_attrs(base_attrs, extra_attrs), "multiple": True}

    def _selected(self, value) -> set[str]:
        if value is None:
            return set()
        values = value if isinstance(value, list | tuple | set) else [value]
        return {str(v) for v in values}

    def value_from_datadict(self, data, files, name):
        return forms.SelectMultiple.value_from_datadict(self, data, files, name)

    def value_omitted_from_data(self, data, files, name):
        return False  # an unselected multiple select is absent from the data


class ListedModelChoiceIterator(ModelChoiceIterator):
    """The choices from one ordinary query (not queryset.iterator()'s server-side cursor)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in list(self.queryset):
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    iterator = ListedModelChoiceIterator
    widget = PlainSelect


class ListedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    iterator = ListedModelChoiceIterator
    widget = PlainSelectMultiple
