"""How the admin shows people and JSON, shared by every app's admin."""

import json

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html_join


def person(user) -> str:
    """Staff are shown by their full name, the user name only when the name is missing."""
    if user is None:
        return "–"
    return user.get_full_name() or user.username


def readable_json(value):
    """A JSON field as a list of "key: value" lines that wrap like text (the admin's
    content security policy allows no inline styles)."""
    if not value:
        return "–"
    if not isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return format_html_join(
        "",
        "<div><strong>{}:</strong> {}</div>",
        (
            (
                key,
                item
                if isinstance(item, str)
                else json.dumps(item, ensure_ascii=False, default=str),
            )
            for key, item in sorted(value.items())
        ),
    )


def moment(value) -> str:
    """A timestamp in local time, as Swedish readers write it."""
    if value is None:
        return "–"
    return date_format(timezone.localtime(value), "Y-m-d H:i")
