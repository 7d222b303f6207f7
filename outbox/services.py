import logging
import re
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from outbox.models import OutgoingEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def clean_header(text: str, limit: int = 200) -> str:
    """A subject line: one line, no control or bidi-override characters, bounded length."""
    text = _CONTROL_CHARS.sub("", " ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_body(text: str) -> str:
    return _CONTROL_CHARS.sub("", str(text))


def email_queue(*, kind: str, to: str, template: str, context: dict, case=None, attachments=None):
    """Render `template` (`<template>_subject.txt` and `<template>.txt`) and queue the mail.

    Call inside the transaction that made the change: the row commits with it, and the
    sending task is queued only after commit. A mail to a follower of a case (`follower` in
    the context) gets the follower's reply address as Reply-To; every mail gets a Message-ID
    and, about a case, In-Reply-To/References to the case's thread.
    No address (a company registered by phone without e-mail): nothing is queued and None is
    returned.
    """
    if not to:
        return None
    from outbox.replies import reply_address, threading_headers

    follower = context.get("follower")
    reply_to = reply_address(follower.pk) if case is not None and follower is not None else ""
    with translation.override(settings.LANGUAGE_CODE):
        context = {"base_url": settings.PUBLIC_BASE_URL, **context}
        subject = render_to_string(f"{template}_subject.txt", context)
        body = render_to_string(f"{template}.txt", context)
    email = OutgoingEmail.objects.create(
        kind=kind,
        to=to,
        subject=clean_header(subject),
        body=clean_body(body),
        case=case,
        attachments=attachments or [],
        reply_to=reply_to,
        headers=threading_headers(case),
    )
    transaction.on_commit(partial(enqueue_send, email.pk))
    return email


def enqueue_send(email_id: int) -> None:
    """Hand the mail to Celery; if the broker is unreachable the sweep sends it later."""
    from outbox.tasks import email_send_task

    try:
        email_send_task.apply_async((email_id,), retry=False)
    except Exception:  # broker down: the row stays pending and nothing is lost
        logger.warning("Broker unavailable; e-mail %s left for the sweep", email_id)


def email_send(*, email_id: int) -> bool:
    """Send one pending mail. Returns True when sent now; safe to call twice.

    Raises the delivery error after recording it so that the task can retry with backoff.
    """
    failure = None
    with transaction.atomic():
        email = (
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutgoingEmail.Status.PENDING)
            .first()
        )
        if email is None:
            return False
        message = EmailMessage(
            subject=email.subject,
            body=email.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            reply_to=[email.reply_to] if email.reply_to else None,
            headers={"Auto-Submitted": "auto-generated", **email.headers},
        )
        for attachment in email.attachments:
            message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
        try:
            message.send(fail_silently=False)
        except Exception as error:
            email.attempts += 1
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutgoingEmail.Status.FAILED
            email.save(update_fields=["attempts", "last_error", "status"])
            if email.status == OutgoingEmail.Status.FAILED:
                logger.error("E-mail %s failed for good: %s", email.pk, email.last_error)
                return False
            failure = error  # raised after the attempt is committed, so the task retries
        else:
            email.status = OutgoingEmail.Status.SENT
            email.sent_at = timezone.now()
            email.attempts += 1
            email.save(update_fields=["status", "sent_at", "attempts"])
            return True
    raise failure


def email_flush_pending(*, older_than_seconds: int = 120, limit: int = 500) -> int:
    """Send mails still pending after a while (the broker was down); used by the sweep."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(
        OutgoingEmail.objects.pending()
        .filter(created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for email_id in ids:
        try:
            sent += email_send(email_id=email_id)
        except Exception:
            logger.warning("E-mail %s still failing; will retry", email_id)
    return sent
