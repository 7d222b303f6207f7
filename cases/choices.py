"""The staff list's dropdowns (units, areas, people), read once per process and change.

Every page view of "Alla ärenden" shows the same ~130 options. Each process keeps its copy
of them with the version it was read at; the shared cache holds only the current version (a
short token), replaced (now and after commit) whenever a unit, an area, a user or a
membership is saved or deleted. A page view costs one cache read of the token and no query,
and the options are rendered once per process, version and language
(`SharedOptionsSelect`); a page view marks the chosen one.

The same widgets serve the case page's dropdowns (`ListedModelChoiceField`,
`ListedModelMultipleChoiceField`): their few dozen rows are read with one ordinary query (a
ModelChoiceField's iterator opens a server-side cursor, three round trips on PostgreSQL) and
the options are joined in Python.
"""

import copy
import logging
import uuid
from functools import partial
from html import escape

from django import forms
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.forms.models import ModelChoiceIterator
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

VERSION_KEY = "cases:filter-choices:version"
CACHE_SECONDS = 3600  # a version no change replaced (cache down at the save) ends then

# This process's copy: (version token, choices).
_copy: tuple[str | None, dict | None] = (None, None)


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
        "area": [
            (pk, _area_label(name, name_en))
            for pk, name, name_en in ResponsibilityArea.objects.order_by("name").values_list(
                "pk", "name", "name_en"
            )
        ],
        "owner": [
            (pk, f"{first} {last}".strip() or username) for pk, first, last, username in people
        ],
    }


def _local_area_name(name: str, name_en: str) -> str:
    """As ResponsibilityArea.local_name: the English name on an English page when there is one."""
    return name_en if name_en and get_language() == "en" else name


# Evaluated when the options are joined, once per language (SharedOptionsSelect).
_area_label = lazy(_local_area_name, str)


def filter_choices() -> dict[str, list[tuple[int, str]]]:
    """The current choices (never changed in place: a change is a new dict); read from the
    database when this process's copy is of an older version, or when the cache is
    unreachable (the list page never depends on the cache being up)."""
    global _copy
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, CACHE_SECONDS)
            version = cache.get(VERSION_KEY)
    except Exception:
        logger.warning("Cache unavailable; filter choices read from the database")
        return _load()
    held, choices = _copy
    if version is None or held != version:
        # Read after the version: a change committed meanwhile replaces the version again.
        choices = _load()
        _copy = (version, choices)
    return choices


# A login saves only the user's last_login, which no dropdown shows: every login would
# otherwise make every worker read the choices again.
_UNSHOWN_FIELDS = frozenset({"last_login"})


def forget_filter_choices(update_fields=None, **_kwargs) -> None:
    """A new version now (this transaction reads its own change; a process that reads the
    old rows meanwhile keeps them only until the next version) and after commit."""
    global _copy
    if update_fields and _UNSHOWN_FIELDS.issuperset(update_fields):
        return
    _copy = (None, None)
    _quietly(_new_version)
    transaction.on_commit(partial(_quietly, _new_version))


def _new_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, CACHE_SECONDS)


def _quietly(operation, *args) -> None:
    """A cache write that must not fail the save or the page that caused it (a version that
    was not replaced expires after CACHE_SECONDS)."""
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


def _attributes(attrs: dict) -> str:
    return "".join(
        f" {_text(key)}" if val is True else f' {_text(key)}="{_text(val)}"'
        for key, val in attrs.items()
        if val is not None and val is not False
    )


class PlainSelect(forms.Select):
    """A single select whose options are joined in Python (no template per option)."""

    def _selected(self, value) -> set[str]:
        return set() if value is None else {str(value)}

    def _options(self, selected: set[str]) -> str:
        return "".join(
            f'<option value="{_text(key)}"{" selected" if str(key) in selected else ""}>'
            f"{_text(label)}</option>"
            for key, label in self.choices
        )

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        options = self._options(self._selected(value))
        return mark_safe(f'<select name="{_text(name)}"{_attributes(attrs)}>{options}</select>')


class SharedOptionsSelect(PlainSelect):
    """A PlainSelect for choices that never change once the field is built (the list's
    cached choices, see cases.filters): the options are joined once per language and
    shared by the field's copies; a page view only marks the chosen one."""

    def __init__(self, attrs=None, choices=()):
        super().__init__(attrs, choices)
        # language -> (options joined, each option, position of each value), shared with
        # the copies of the widget.
        self.joined: dict = {}

    def __deepcopy__(self, memo):
        # Select's deepcopy copies and normalises the choices again: share them instead.
        result = copy.copy(self)
        memo[id(self)] = result
        result.attrs = self.attrs.copy()
        return result

    def _options(self, selected: set[str]) -> str:
        language = get_language()
        done = self.joined.get(language)
        if done is None:
            parts = [
                f'<option value="{_text(key)}">{_text(label)}</option>'
                for key, label in self.choices
            ]
            where = {str(key): i for i, (key, _label) in enumerate(self.choices)}
            done = self.joined[language] = ("".join(parts), parts, where)
        joined, parts, where = done
        chosen = [where[key] for key in selected if key in where]
        if not chosen:
            return joined
        parts = list(parts)
        for i in chosen:  # the value is escaped: the first ">" ends the opening tag
            parts[i] = parts[i].replace(">", " selected>", 1)
        return "".join(parts)


class PlainInputMixin:
    """An <input> built in Python: what Django's input.html template gives, without a
    template render per field."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"'
        if widget["value"] is not None:
            html += f' value="{_text(widget["value"])}"'
        html += "".join(
            f" {_text(key)}" if val is True else f' {_text(key)}="{_text(val)}"'
            for key, val in widget["attrs"].items()
            if val is not False
        )
        return mark_safe(html + ">")


class PlainTextInput(PlainInputMixin, forms.TextInput):
    pass


class PlainCheckboxInput(PlainInputMixin, forms.CheckboxInput):
    pass


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
