import logging
import re
from functools import partial

from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Model
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
    sending task is queued only after commit.
    """
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
    )
    transaction.on_commit(partial(enqueue_send, email.pk))
    return email


def deferred_email(*, kind: str, to: str, template: str, context: dict, case=None):
    """An unsaved mail that the worker renders when it sends it.

    `context` values are model instances (stored as their ids, read again when rendering),
    `lookup(...)` references or JSON values. Save it with the change (`email_queue_later`,
    or `insert_together` + `send_after_commit`).
    """
    return OutgoingEmail(
        kind=kind,
        to=to,
        subject="",
        body="",
        template=template,
        context={name: _reference(value) for name, value in context.items()},
        case=case,
    )


def email_queue_later(mails: list[OutgoingEmail]) -> list[OutgoingEmail]:
    """Save deferred mails in one INSERT; one task sends them after commit."""
    rows = OutgoingEmail.objects.bulk_create(mails)
    send_after_commit(rows)
    return rows


def send_after_commit(mails: list[OutgoingEmail]) -> None:
    transaction.on_commit(partial(enqueue_send_many, [mail.pk for mail in mails]))


def lookup(instance: Model, field: str) -> dict:
    """A reference to a row not yet saved, by a unique field (e.g. a follower's token)."""
    return {"model": instance._meta.label_lower, field: getattr(instance, field)}


def _reference(value):
    if isinstance(value, Model):
        return {"model": value._meta.label_lower, "pk": value.pk}
    return value


def _dereference(value):
    if isinstance(value, dict) and "model" in value and len(value) == 2:
        fields = {key: val for key, val in value.items() if key != "model"}
        return apps.get_model(value["model"])._default_manager.get(**fields)
    return value


def render_queued(email: OutgoingEmail) -> None:
    """Fill in subject and body of a mail queued with `email_queue_later` (in the worker)."""
    if not email.template or email.body:
        return
    context = {name: _dereference(value) for name, value in email.context.items()}
    with translation.override(settings.LANGUAGE_CODE):
        context = {"base_url": settings.PUBLIC_BASE_URL, **context}
        subject = render_to_string(f"{email.template}_subject.txt", context)
        body = render_to_string(f"{email.template}.txt", context)
    email.subject = clean_header(subject)
    email.body = clean_body(body)
    email.save(update_fields=["subject", "body"])


def enqueue_send_many(email_ids: list[int]) -> None:
    """One task message for the mails of one change (the broker round trip is per message)."""
    from outbox.tasks import email_send_many_task

    try:
        email_send_many_task.apply_async((email_ids,), retry=False)
    except Exception:  # broker down: the rows stay pending and nothing is lost
        logger.warning("Broker unavailable; e-mails %s left for the sweep", email_ids)


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
        render_queued(email)
        message = EmailMessage(
            subject=email.subject,
            body=email.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
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
