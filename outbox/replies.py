"""Reply addresses and threading headers for e-mails to companies.

Every e-mail to a follower carries a Reply-To such as `svar+1f.9c0e…@norrtalje.se`
(`REPLY_ADDRESS_TEMPLATE`, `INBOUND_EMAIL_DOMAIN`): the follower's id and an HMAC of it under
the site's secret key. It names the follower and so the case, reveals nothing of the private
tracking link, and cannot be made up for another follower. Lower-case hex only, so that mail
systems that fold the case of local parts do not break it.
"""

import re
from email.utils import make_msgid

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "outbox.reply-address"
_ADDRESS_PART = r"([0-9a-f]{1,12})\.([0-9a-f]{20})"


def _signature(follower_id: int) -> str:
    return salted_hmac(_SALT, str(follower_id)).hexdigest()[:20]


def reply_address(follower_id: int) -> str:
    token = f"{follower_id:x}.{_signature(follower_id)}"
    return settings.REPLY_ADDRESS_TEMPLATE.format(token=token, domain=settings.INBOUND_EMAIL_DOMAIN)


def _pattern() -> re.Pattern:
    template = re.escape(settings.REPLY_ADDRESS_TEMPLATE)
    template = template.replace(re.escape("{token}"), _ADDRESS_PART).replace(
        re.escape("{domain}"), re.escape(settings.INBOUND_EMAIL_DOMAIN)
    )
    return re.compile(rf"^{template}$", re.IGNORECASE)


class ForgedAddress(ValueError):
    """Looks like a reply address, but its signature is wrong."""


def follower_id_from_address(address: str) -> int | None:
    """The follower a reply address names; None if it is not a reply address at all.
    Raises ForgedAddress when it has the form of one but was not made by us."""
    match = _pattern().match((address or "").strip())
    if match is None:
        return None
    follower_id = int(match.group(1), 16)
    if not constant_time_compare(match.group(2).lower(), _signature(follower_id)):
        raise ForgedAddress(address)
    return follower_id


def thread_id(case) -> str:
    """The Message-ID every e-mail about a case refers to, so that mail clients thread them."""
    return f"<{case.reference}@{settings.INBOUND_EMAIL_DOMAIN}>"


def threading_headers(case) -> dict:
    headers = {"Message-ID": make_msgid(domain=settings.INBOUND_EMAIL_DOMAIN)}
    if case is not None:
        headers["In-Reply-To"] = thread_id(case)
        headers["References"] = thread_id(case)
    return headers
