"""Swedish organisation numbers (and personnummer of sole traders): ten digits, the last a Luhn
check digit. Checked here rather than with python-stdnum, whose utilities import pydoc
(~1.4 MiB in every web worker for a ten-digit checksum); stdnum stays the reference in the
tests."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# What people type: an optional century (19/20) or the 16/00 prefix of some registers before
# the ten digits, with or without the dash.
_ACCEPTED = re.compile(r"^(?:(?:16|19|20|00)?(\d{6})-?(\d{4}))$")


# Separators in a stored number: whitespace, dots, hyphens and dashes (as stdnum's compact).
_SEPARATORS = re.compile(r"[\s.\-\u058a\u05be\u2010-\u2015\u2212\ufe63\uff0d]")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a string of ASCII digits (False for anything else)."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
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
    if not luhn_ok(digits):  # also refuses digits of other scripts, which \d lets through
        raise ValidationError(
            _("Organisationsnumret stämmer inte (kontrollsiffran är fel). Kontrollera siffrorna."),
            code="checksum",
        )
    return f"{digits[:6]}-{digits[6:]}"


def is_personal_identity_number(org_number: str) -> bool:
    """True for a personnummer or samordningsnummer: digits 3–4 are a month 01–12 (a legal
    person's number has a group digit of 2 or more there). Deliberately wider than stdnum's
    `personnummer.is_valid`, which rejects samordningsnummer (day + 60): masking errs on the
    side of privacy."""
    digits = _SEPARATORS.sub("", org_number).strip()
    return len(digits) == 10 and digits.isdigit() and 1 <= int(digits[2:4]) <= 12


def mask(org_number: str) -> str:
    if is_personal_identity_number(org_number):
        return org_number[:6] + "-****"
    return org_number
