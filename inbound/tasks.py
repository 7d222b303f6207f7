"""Poll an IMAP mailbox for replies and bounces (Celery beat; off unless INBOUND_IMAP_URL)."""

import contextlib
import imaplib
import logging
from urllib.parse import unquote, urlparse

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


def imap_poll(url: str, *, limit: int = 200) -> int:
    """Take unseen mail from the mailbox in `url` (imaps://user:pass@host:993/INBOX) through
    `inbound_receive`; each handled mail is deleted, a failing one stays for the next poll.
    Returns how many mails were handled."""
    from inbound.services import inbound_receive

    parsed = urlparse(url)
    secure = parsed.scheme == "imaps"
    client_class = imaplib.IMAP4_SSL if secure else imaplib.IMAP4
    client = client_class(parsed.hostname, parsed.port or (993 if secure else 143), timeout=30)
    handled = 0
    try:
        if not secure and parsed.scheme == "imap+starttls":
            client.starttls()
        client.login(unquote(parsed.username or ""), unquote(parsed.password or ""))
        client.select(unquote(parsed.path.lstrip("/")) or "INBOX")
        _status, data = client.uid("search", None, "UNSEEN")
        for uid in (data[0] or b"").split()[:limit]:
            _status, fetched = client.uid("fetch", uid, "(RFC822)")
            raw = next((part[1] for part in fetched if isinstance(part, tuple)), None)
            if raw is None:
                continue
            try:
                outcome = inbound_receive(raw)
            except Exception:
                logger.exception("Inbound mail %s could not be handled; kept", uid)
                continue
            logger.info("IMAP mail %s: %s", uid, outcome.status)
            client.uid("store", uid, "+FLAGS", r"(\Deleted)")
            handled += 1
        client.expunge()
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return handled


@shared_task(acks_late=True, ignore_result=True)
def imap_poll_task() -> int:
    if not settings.INBOUND_IMAP_URL:
        return 0
    return imap_poll(settings.INBOUND_IMAP_URL)
