"""Faults: the broker (Redis) down and SMTP down lose nothing."""

import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError

from cases.models import Case
from outbox.models import OutgoingEmail
from outbox.services import MAX_ATTEMPTS, email_flush_pending, email_relay, email_send
from tests.factories import submit_question

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_form_timing")]


def test_broker_down_the_form_still_saves_the_case_and_the_relay_sends_the_receipt(
    client, norrtalje, django_capture_on_commit_callbacks, settings
):
    """The request publishes nothing: whatever the broker's state, the company gets its page
    and the receipt waits as a row until the worker's relay sends it, once."""
    settings.OUTBOX_SEND_ON_COMMIT = False  # as in production: the worker's relay sends
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch("outbox.services.publish_or_leave", side_effect=down) as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = submit_question(client)

    assert not publish.called
    assert response.status_code == 302
    case = Case.objects.get()
    receipt = OutgoingEmail.objects.get(subject_id=case.pk, kind="receipt")
    assert receipt.status == "pending" and not mail.outbox
    assert client.get(response["Location"]).status_code == 200  # the company sees its case

    assert email_relay() == []  # the worker's relay, a second later
    assert email_relay() == []  # and the next one: nothing more
    receipt.refresh_from_db()
    assert receipt.status == "sent" and receipt.attempts == 1
    assert [m.to for m in mail.outbox].count(["maria@roslagenskafe.se"]) == 1


def test_broker_down_a_file_and_a_webhook_wait_as_rows_and_the_relays_handle_them_once(
    client, norrtalje, django_capture_on_commit_callbacks, monkeypatch, settings
):
    """Whatever the broker's state, a company that sends a file gets its page at once: the
    file waits quarantined and the webhook delivery as a row until the worker's relays scan
    it and POST it, once each."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from api.models import WebhookDelivery
    from api.webhooks import webhook_relay
    from cases.models import Attachment
    from cases.services import attachments
    from tests.test_attachments import PDF
    from tests.test_webhooks import Receiver, subscribe

    settings.OUTBOX_SEND_ON_COMMIT = False  # as in production: the worker's relays do it
    settings.CLAMAV_URL = "tcp://clamav:3310"
    monkeypatch.setattr(attachments, "_retry_after", {})
    submit_question(client)
    follower = Case.objects.get().followers.get()
    receiver = Receiver()
    subscribe(receiver.url, kinds=["company_replied"])
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    try:
        with (
            mock.patch("outbox.services.publish_or_leave", side_effect=down) as publish,
            mock.patch("celery.app.task.Task.apply_async", side_effect=down) as apply_async,
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = client.post(
                reverse("cases_public:tracking_message", args=[follower.token]),
                {"body": "Här är ritningen.", "attachments": [SimpleUploadedFile("a.pdf", PDF)]},
            )
        assert not publish.called and not apply_async.called
        assert response.status_code == 302
        assert client.get(response["Location"]).status_code == 200
        attachment = Attachment.objects.get()
        delivery = WebhookDelivery.objects.get()
        assert attachment.scan_status == "pending" and delivery.status == "pending"

        scanned = []
        monkeypatch.setattr(attachments, "clamd_scan", lambda content, url: scanned.append(url))
        assert attachments.attachment_scan_relay() == 1  # the worker's relays, a second later
        assert webhook_relay() == 1
        assert attachments.attachment_scan_relay() == 0  # and the next ones: nothing more
        assert webhook_relay() == 0
    finally:
        receiver.close()
    attachment.refresh_from_db()
    delivery.refresh_from_db()
    assert attachment.scan_status == "clean" and len(scanned) == 1
    assert delivery.status == "sent" and len(receiver.received) == 1


def _closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _messages_in_real_broker() -> int:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        import redis

        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1)
            return sum(
                client.llen(key)
                for key in client.scan_iter(match="celery*", count=100)
                if client.type(key) == b"list"
            )
        except redis.RedisError:
            return 0
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
    import os

    return len(os.listdir(folder)) if folder and os.path.isdir(folder) else 0


def test_broker_on_a_closed_port_the_company_gets_its_page_at_once_and_one_receipt_later(
    client, norrtalje, django_capture_on_commit_callbacks, time_machine, monkeypatch, settings
):
    """Celery configured for a port nobody listens on: the submission does not try it at all
    (it used to publish after commit), the case is saved and the receipt goes out exactly
    once, by the relay; neither the sweep afterwards nor a second relay sends it again.
    Nothing reaches the real broker."""
    import time

    from foretagslots.celery import app

    settings.OUTBOX_SEND_ON_COMMIT = False
    before = _messages_in_real_broker()
    old = app.conf.broker_url, app._pool, app.amqp._producer_pool
    app.conf.task_always_eager = False
    port = _closed_port()
    closed = f"redis://127.0.0.1:{port}/0"
    # Celery prefers the environment's CELERY_BROKER_URL (set in CI) over its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", closed)
    app.conf.broker_url = closed
    # Pools of connections to the closed port, not to the real broker.
    app._pool = app.amqp._producer_pool = None
    try:
        assert app.connection_for_write().port == port
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = submit_question(client)
        elapsed = time.monotonic() - started
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        monkeypatch.undo()
        app.conf.broker_url, app._pool, app.amqp._producer_pool = old
        app.conf.task_always_eager = True

    assert response.status_code == 302
    assert elapsed < 2, f"the company waited {elapsed:.1f} s for its receipt page"
    case = Case.objects.get()
    receipt = OutgoingEmail.objects.get(subject_id=case.pk, kind="receipt")
    assert receipt.status == "pending" and not mail.outbox
    assert _messages_in_real_broker() == before

    assert email_relay() == []
    assert email_relay() == []  # a second relay sends nothing more
    time_machine.move_to(timezone.now() + timezone.timedelta(minutes=5))
    assert email_flush_pending() == 0  # nor the sweep
    assert [m.to for m in mail.outbox].count(["maria@roslagenskafe.se"]) == 1
    receipt.refresh_from_db()
    assert receipt.status == "sent"


class DiesAfterHandOverBackend:
    """SMTP accepts the mail, then the sending process dies before it records "sent"."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        mail.outbox.extend(messages)
        raise KeyboardInterrupt("worker killed")


def test_a_mail_handed_over_is_not_sent_again_while_its_lease_runs(settings, time_machine):
    from tests.factories import CaseFactory

    case = CaseFactory()
    email = OutgoingEmail.objects.create(
        kind="receipt", to="a@example.se", subject="s", body="b", subject_id=case.pk
    )
    settings.EMAIL_BACKEND = "tests.test_faults.DiesAfterHandOverBackend"
    with pytest.raises(KeyboardInterrupt):
        email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == "sending" and email.lease_until > timezone.now()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_send(email_id=email.pk) is False  # the task's retry
    time_machine.move_to(timezone.now() + timezone.timedelta(minutes=4))
    assert email_flush_pending() == 0  # the sweep, inside the lease
    assert len(mail.outbox) == 1

    # The lease ran out and nobody recorded the outcome: handed over again, same Message-ID.
    time_machine.move_to(timezone.now() + timezone.timedelta(hours=1))
    assert email_flush_pending() == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[0].extra_headers["Message-ID"] == mail.outbox[1].extra_headers["Message-ID"]
    email.refresh_from_db()
    assert email.status == "sent" and email.lease_until is None


class SpyBackend:
    """Records the outbox row's status at the moment SMTP receives the mail."""

    seen: list = []

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        SpyBackend.seen.append(OutgoingEmail.objects.get().status)
        return len(messages)


def test_the_mail_is_marked_sending_before_it_reaches_smtp(settings):
    from tests.factories import CaseFactory

    SpyBackend.seen = []
    settings.EMAIL_BACKEND = "tests.test_faults.SpyBackend"
    email = OutgoingEmail.objects.create(
        kind="receipt", to="a@example.se", subject="s", body="b", subject_id=CaseFactory().pk
    )
    assert email_send(email_id=email.pk) is True
    assert SpyBackend.seen == ["sending"]
    email.refresh_from_db()
    assert email.status == "sent"


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("SMTP down")


def test_smtp_down_retries_then_marks_the_mail_failed(settings):
    from tests.factories import CaseFactory

    settings.EMAIL_BACKEND = "tests.test_faults.FailingBackend"
    case = CaseFactory()
    email = OutgoingEmail.objects.create(
        kind="receipt", to="a@example.se", subject="s", body="b", subject_id=case.pk
    )
    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(smtplib.SMTPServerDisconnected):
            email_send(email_id=email.pk)
        email.refresh_from_db()
        assert email.status == "pending" and email.attempts == attempt
    assert email_send(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.status == "failed" and email.attempts == MAX_ATTEMPTS
    assert "SMTP down" in email.last_error
    # visible on the case: the failed mail hangs off it
    assert OutgoingEmail.objects.filter(subject_id=case.pk, status="failed").exists()
