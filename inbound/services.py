"""One way in for e-mail: a company's reply becomes its message on the case.

Both the MTA pipe (`manage.py receive_email`) and the IMAP poll (`inbound.tasks`) call
`inbound_receive`. Mail that is not a person's reply is never stored: automatic replies
(out of office and the like) are dropped, a bounce only marks the follower's address as
undeliverable, and mail to an unknown or forged reply address is refused and logged. The
portal never answers incoming mail, so no mail loop can start.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.models import CaseFollower
from cases.services.attachments import prepare_file
from cases.services.company import case_company_email_reply, follower_mark_undeliverable
from inbound.parsing import bounce_status, parse, reply_text
from outbox.replies import ForgedAddress, follower_id_from_address

logger = logging.getLogger(__name__)

MESSAGE_MAX = 10_000


@dataclass(frozen=True)
class Outcome:
    status: str  # stored, duplicate, auto_reply, bounce, refused
    detail: str = ""
    message_id: int | None = None
    case_id: int | None = None

    @property
    def accepted(self) -> bool:
        return self.status in ("stored", "duplicate", "auto_reply", "bounce")


def _refuse(detail: str, parsed=None) -> Outcome:
    logger.warning(
        "Inbound e-mail refused: %s (from %s, Message-ID %s)",
        detail,
        getattr(parsed, "sender", "?"),
        getattr(parsed, "message_id", "?"),
    )
    return Outcome("refused", detail)


def _follower_ids(addresses) -> tuple[list[int], bool]:
    """The followers named by reply addresses among `addresses`; True if one was forged."""
    found, forged = [], False
    for address in addresses:
        try:
            follower_id = follower_id_from_address(address)
        except ForgedAddress:
            forged = True
            continue
        if follower_id is not None and follower_id not in found:
            found.append(follower_id)
    return found, forged


def _own_address(address: str) -> bool:
    """Mail from the portal's own sender or one of its reply addresses: never taken in."""
    own = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
    if (address or "").lower() == own:
        return True
    try:
        return follower_id_from_address(address) is not None
    except ForgedAddress:
        return True


def inbound_receive(raw: bytes, *, recipient: str = "") -> Outcome:
    """Take one RFC 5322 message; `recipient` is the envelope recipient if the MTA gives it."""
    parsed = parse(raw)
    if parsed.is_bounce:
        return _bounce(parsed)
    if parsed.auto_reason:
        logger.info("Inbound automatic e-mail dropped (%s)", parsed.auto_reason)
        return Outcome("auto_reply", parsed.auto_reason)
    if _own_address(parsed.sender):
        return _refuse("sent by the portal itself (loop)", parsed)
    addresses = ([recipient] if recipient else []) + parsed.recipients
    follower_ids, forged = _follower_ids(addresses)
    if not follower_ids:
        return _refuse("forged reply address" if forged else "no reply address", parsed)
    follower = (
        CaseFollower.objects.select_related("case")
        .filter(pk=follower_ids[0], revoked_at__isnull=True, case__anonymised_at__isnull=True)
        .first()
    )
    if follower is None:
        return _refuse("reply address of a removed follower", parsed)
    body, files = _content(parsed)
    if not body and not files:
        return _refuse("empty reply", parsed)
    message_id = parsed.message_id or f"<{hashlib.sha256(raw).hexdigest()}@inbound>"
    already = follower.case.messages.filter(email_message_id=message_id[:255]).exists()
    try:
        message = case_company_email_reply(
            follower_id=follower.pk, body=body, files=files, email_message_id=message_id
        )
    except ValidationError as error:
        return _refuse(f"not accepted: {'; '.join(error.messages)}", parsed)
    logger.info("Inbound reply stored as message %s on case %s", message.pk, message.case_id)
    return Outcome("duplicate" if already else "stored", "", message.pk, message.case_id)


def _content(parsed) -> tuple[str, list]:
    """The reply's own text and its accepted files; refused files are named in the text."""
    body = reply_text(parsed.text)
    files, notes = [], []
    for index, (name, content) in enumerate(parsed.attachments):
        if index >= settings.ATTACHMENT_MAX_FILES:
            notes.append(_("Bilagan %(name)s togs inte emot: för många filer.") % {"name": name})
            continue
        try:
            files.append(prepare_file(name, content))
        except ValidationError as error:
            notes.append(
                _("Bilagan togs inte emot: %(reason)s") % {"reason": " ".join(error.messages)}
            )
    if notes:
        body = "\n\n".join([body, *notes]).strip()
    return body[:MESSAGE_MAX], files


def _bounce(parsed) -> Outcome:
    """Mark the followers whose reply address is in the returned headers as undeliverable."""
    # Candidate reply addresses anywhere in the report (our Reply-To came back with it).
    template = settings.REPLY_ADDRESS_TEMPLATE.split("{token}")[0]
    pattern = re.compile(rf"{re.escape(template)}[0-9a-f.]+@[\w.-]+", re.IGNORECASE)
    follower_ids, forged = _follower_ids(pattern.findall(parsed.bounce_text))
    if not follower_ids:
        logger.info("Bounce without a reply address of ours dropped (forged: %s)", forged)
        return Outcome("bounce", "unmatched")
    reason = bounce_status(parsed.bounce_text) or _("E-postservern kunde inte leverera.")
    for follower_id in follower_ids:
        follower_mark_undeliverable(follower_id=follower_id, reason=reason)
    logger.info("Bounce marked %d follower address(es) undeliverable", len(follower_ids))
    return Outcome("bounce", reason)
