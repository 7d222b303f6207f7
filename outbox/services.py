import logging
import re
from functools import partial

from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Model, Q
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
        subject_id=case.pk if case is not None else None,
        attachments=attachments or [],
        reply_to=reply_to,
        headers=threading_headers(case),
    )
    send_after_commit([email])
    return email


def publish_or_leave(task, args: tuple) -> bool:
    """Publish `task` to the broker at once, or give up at once (False).

    Used after commit in requests: a dead broker must not hold a company's page. One attempt
    to connect (kombu would otherwise retry for seconds), no publish retries; the rows the
    task would handle stay pending and the sweep picks them up.
    """
    # The project's app, made current: a process that has not imported it (a web worker:
    # nothing there imports Celery until something is published) would otherwise resolve
    # the task through Celery's default app and its default broker.
    from foretagslots.celery import app as _project_app  # noqa: F401

    app = task.app
    try:
        if app.conf.task_always_eager:
            task.apply_async(args)
            return True
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            task.apply_async(args, retry=False, producer=producer)
    except Exception as error:  # broker down: nothing is lost, the sweep sends it
        logger.warning("Broker unavailable (%s); %s%r left for the sweep", error, task.name, args)
        return False
    return True


def deferred_email(*, kind: str, to: str, template: str, context: dict, case=None):
    """An unsaved mail that the worker renders when it sends it.

    `context` values are model instances (stored as their ids, read again when rendering),
    `lookup(...)` references or JSON values. Save it with the change (`email_queue_later`,
    or `insert_together` + `send_after_commit`).
    """
    from outbox.replies import threading_headers

    return OutgoingEmail(
        kind=kind,
        to=to,
        subject="",
        body="",
        template=template,
        context={name: _reference(value) for name, value in context.items()},
        subject_id=case.pk if case is not None else None,
        headers=threading_headers(case),
    )


def email_queue_later(mails: list[OutgoingEmail]) -> list[OutgoingEmail]:
    """Save deferred mails in one INSERT; the worker's relay sends them after commit."""
    rows = OutgoingEmail.objects.bulk_create(mails)
    send_after_commit(rows)
    return rows


def send_after_commit(mails: list[OutgoingEmail]) -> None:
    """Nothing for the request to do: the rows commit with the change, and the worker's relay
    (`email_relay`, every second) sends them. The request does not talk to the broker, so a
    dead broker cannot hold a company's page.

    Without a worker (tests, development with CELERY_TASK_ALWAYS_EAGER) OUTBOX_SEND_ON_COMMIT
    sends them in the process right after commit instead, as the relay would.
    """
    if settings.OUTBOX_SEND_ON_COMMIT:
        transaction.on_commit(partial(_send_now, [mail.pk for mail in mails]))


def _send_now(email_ids: list[int]) -> None:
    for email_id in email_ids:
        try:
            email_send(email_id=email_id)
        except Exception:  # recorded on the row; the sweep retries it
            logger.warning("E-mail %s not sent; left for the sweep", email_id, exc_info=True)


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
    follower = context.get("follower")
    if email.subject_id and follower is not None and not email.reply_to:
        from outbox.replies import reply_address

        email.reply_to = reply_address(follower.pk)  # the follower had no id when queued
    email.save(update_fields=["subject", "body", "reply_to"])


def _lease_seconds() -> int:
    # Longer than one SMTP hand-off can take (connect + send, each bounded by EMAIL_TIMEOUT).
    return max(300, 3 * int(getattr(settings, "EMAIL_TIMEOUT", 20) or 20))


def _claim(email_id: int) -> OutgoingEmail | None:
    """Mark the mail "sending" with a lease, in its own committed transaction, so that no
    other worker, retry or sweep sends it while this one hands it to SMTP."""
    now = timezone.now()
    claimable = Q(status=OutgoingEmail.Status.PENDING) | Q(
        status=OutgoingEmail.Status.SENDING, lease_until__lt=now
    )
    with transaction.atomic():
        email = (
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(claimable, pk=email_id)
            .first()
        )
        if email is None:
            return None
        email.status = OutgoingEmail.Status.SENDING
        email.lease_until = now + timezone.timedelta(seconds=_lease_seconds())
        email.attempts += 1
        email.save(update_fields=["status", "lease_until", "attempts"])
    return email


def _message(email: OutgoingEmail) -> EmailMessage:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        # The same Message-ID on every attempt (made when the mail was queued): if a mail is
        # ever handed over twice (the sender died after SMTP accepted it), mail systems can
        # tell it is one message. Auto-Submitted keeps auto-responders from answering.
        headers={
            "Message-ID": f"<outbox-{email.pk}.{email.created_at:%Y%m%d%H%M%S}@{domain}>",
            "Auto-Submitted": "auto-generated",
            **email.headers,
        },
    )
    for attachment in email.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message


def email_send(*, email_id: int) -> bool:
    """Send one mail. Returns True when sent now; safe to call twice, also concurrently.

    The mail is first leased ("sending", committed), then handed to SMTP outside any
    transaction, then marked sent. A retry inside the lease sends nothing; only when a sender
    died mid-way and the lease ran out does the sweep hand the mail over again.
    Raises the delivery error after recording it so that the task can retry with backoff.
    """
    email = _claim(email_id)
    if email is None:
        return False
    return _hand_over(email)


def _hand_over(email: OutgoingEmail) -> bool:
    """Render (if deferred) and send a leased mail, and record the outcome."""
    leased = OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.SENDING)
    try:
        render_queued(email)  # a mail queued by a request is rendered here, in the worker
        _message(email).send(fail_silently=False)
    except Exception as error:
        last_error = f"{type(error).__name__}: {error}"[:2000]
        failed = email.attempts >= MAX_ATTEMPTS
        status = OutgoingEmail.Status.FAILED if failed else OutgoingEmail.Status.PENDING
        leased.update(status=status, last_error=last_error, lease_until=None)
        if failed:
            logger.error("E-mail %s failed for good: %s", email.pk, last_error)
            return False
        raise
    leased.update(status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), lease_until=None)
    return True


# Mails leased at a time by the relay: each hand-over is bounded by ~2 × EMAIL_TIMEOUT, so a
# batch fits in one lease (`_lease_seconds`) even when SMTP is at its slowest.
RELAY_BATCH = 5


def _claim_new(limit: int) -> list[OutgoingEmail]:
    """Lease up to `limit` mails never tried yet, oldest first, in one committed transaction.
    Rows another relay or sender holds are skipped, not waited for."""
    now = timezone.now()
    with transaction.atomic():
        emails = list(
            OutgoingEmail.objects.pending()
            .filter(attempts=0)
            .order_by("created_at")
            .select_for_update(skip_locked=True)[:limit]
        )
        if not emails:
            return []
        lease_until = now + timezone.timedelta(seconds=_lease_seconds())
        OutgoingEmail.objects.filter(pk__in=[email.pk for email in emails]).update(
            status=OutgoingEmail.Status.SENDING, lease_until=lease_until, attempts=1
        )
    for email in emails:
        email.status, email.lease_until, email.attempts = (
            OutgoingEmail.Status.SENDING,
            lease_until,
            1,
        )
    return emails


def email_relay(*, limit: int = 200) -> list[int]:
    """Send the mails queued since the last run (pending and never tried), oldest first.

    The worker runs it every second (`outbox.tasks.email_relay_task`, beat's "outbox-relay"),
    so a receipt leaves within about a second of the company's submission. Safe to run
    concurrently with itself, the sweep and the retries: every mail is leased before it is
    handed over, so it goes out once. Returns the ids whose hand-over failed (recorded on the
    row, left pending for a retry with backoff).
    """
    failed: list[int] = []
    claimed = 0
    while claimed < limit:
        batch = _claim_new(min(RELAY_BATCH, limit - claimed))
        if not batch:
            break
        claimed += len(batch)
        for email in batch:
            try:
                _hand_over(email)
            except Exception:
                logger.warning("E-mail %s not sent; will retry", email.pk, exc_info=True)
                failed.append(email.pk)
    return failed


def email_flush_pending(*, older_than_seconds: int = 120, limit: int = 500) -> int:
    """Send mails still pending after a while (the broker was down); used by the sweep."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(
        OutgoingEmail.objects.pending()
        .filter(created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids += list(  # handed over by a sender that died before recording it
        OutgoingEmail.objects.lease_expired(timezone.now()).values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for email_id in ids:
        try:
            sent += email_send(email_id=email_id)
        except Exception:
            logger.warning("E-mail %s still failing; will retry", email_id)
    return sent
