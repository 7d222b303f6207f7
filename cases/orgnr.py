"""Swedish organisation numbers (and personnummer of sole traders)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_ACCEPTED = re.compile(r"^(?:(?:16|19|20|00)?(\d{6})-?(\d{4}))$")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return total % 10 == 0


def normalise_org_number(value: str) -> str:
    """Accept NNNNNN-NNNN, NNNNNNNNNN, with century (NNNNNNNN-NNNN) or 16/00 prefix;
    verify the Luhn check digit; return NNNNNN-NNNN. Raises ValidationError in Swedish."""
    cleaned = re.sub(r"[\s\u00a0]", "", value or "").replace("–", "-").replace("+", "-")
    match = _ACCEPTED.match(cleaned)
    if not match:
        raise ValidationError(
            _("Ange organisationsnumret med tio siffror, till exempel 556036-0793."),
            code="format",
        )
    digits = match.group(1) + match.group(2)
    if not luhn_ok(digits):
        raise ValidationError(
            _("Organisationsnumret stämmer inte (kontrollsiffran är fel). Kontrollera siffrorna."),
            code="checksum",
        )
    return f"{digits[:6]}-{digits[6:]}"


def is_personal_identity_number(org_number: str) -> bool:
    """True for a personnummer or samordningsnummer: digits 3–4 are a month 01–12."""
    digits = org_number.replace("-", "")
    return len(digits) == 10 and 1 <= int(digits[2:4]) <= 12


def mask(org_number: str) -> str:
    if is_personal_identity_number(org_number):
        return org_number[:6] + "-****"
    return org_number
