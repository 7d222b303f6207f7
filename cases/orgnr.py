"""Swedish organisation numbers (and personnummer of sole traders), checked with python-stdnum."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import orgnr

# What people type: an optional century (19/20) or the 16/00 prefix of some registers before
# the ten digits, with or without the dash.
_ACCEPTED = re.compile(r"^(?:(?:16|19|20|00)?(\d{6})-?(\d{4}))$")


def luhn_ok(digits: str) -> bool:
    return luhn.is_valid(digits)


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
    try:
        orgnr.validate(digits)
    except StdnumError:
        raise ValidationError(
            _("Organisationsnumret stämmer inte (kontrollsiffran är fel). Kontrollera siffrorna."),
            code="checksum",
        ) from None
    return orgnr.format(digits)


def is_personal_identity_number(org_number: str) -> bool:
    """True for a personnummer or samordningsnummer: digits 3–4 are a month 01–12 (a legal
    person's number has a group digit of 2 or more there). Deliberately wider than stdnum's
    `personnummer.is_valid`, which rejects samordningsnummer (day + 60): masking errs on the
    side of privacy."""
    digits = orgnr.compact(org_number)
    return len(digits) == 10 and digits.isdigit() and 1 <= int(digits[2:4]) <= 12


def mask(org_number: str) -> str:
    if is_personal_identity_number(org_number):
        return org_number[:6] + "-****"
    return org_number
