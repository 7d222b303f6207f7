"""Swedish phone numbers as people type them: 070-123 45 67, 0176-710 00, (08) 123 456,
+46 70 123 45 67. python-stdnum has no phone numbers (it checks identifiers with check
digits), so the check is the portal's own: only digits, spaces, hyphens, parentheses and a
leading +, and at least seven digits. What the company typed is kept as typed."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MIN_DIGITS = 7
MAX_DIGITS = 15  # the longest number the international numbering plan (E.164) allows

# A leading +, then digits, spaces (also the no-break space a pasted number may carry),
# hyphens (and the en dash word processors make of them) and parentheses. [0-9], not \d:
# digits of other scripts are not a phone number.
_ACCEPTED = re.compile(r"^\+?[0-9 \u00a0\-\u2013()]+$")


def clean_phone(value: str) -> str:
    """The number stripped of surrounding space, or "" for none. Raises ValidationError in
    Swedish when it is not a phone number."""
    value = (value or "").strip()
    if not value:
        return ""
    digits = sum(char.isascii() and char.isdigit() for char in value)
    if not _ACCEPTED.match(value) or not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise ValidationError(
            _(
                "Skriv telefonnumret med siffror, till exempel 070-123 45 67 eller "
                "+46 70 123 45 67."
            ),
            code="phone",
        )
    return value
