"""Faults: the broker (Redis) down and SMTP down lose nothing."""

import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from cases.models import Case
from outbox.models import OutgoingEmail
from outbox.services import MAX_ATTEMPTS, email_flush_pending, email_send

pytestmark = pytest.mark.django_db

VALID = {
    "org_number": "556036-0793",
    "company_name": "Roslagens Kafé AB",
    "contact_name": "Maria Lind",
    "email": "maria@roslagenskafe.se",
    "subject": "Uteservering på torget",
    "description": "Vi vill ställa ut bord på torget i sommar.",
    "consent": "on",
}


@pytest.fixture(autouse=True)
def _no_timing(monkeypatch):
    monkeypatch.setattr("cases.forms.MIN_FILL_SECONDS", 0)


def submit(client):
    started = client.get(reverse("cases_public:ask")).context["form"].initial["form_started"]
    return client.post(reverse("cases_public:ask"), {**VALID, "form_started": started})


def test_broker_down_the_form_still_saves_the_case_and_the_sweep_sends_the_receipt(
    client, norrtalje, django_capture_on_commit_callbacks, time_machine
):
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch("outbox.tasks.email_send_task.apply_async", side_effect=down),
        mock.patch("outbox.tasks.email_send_many_task.apply_async", side_effect=down),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = submit(client)

    assert response.status_code == 302
    case = Case.objects.get()
    receipt = OutgoingEmail.objects.get(case=case, kind="receipt")
    assert receipt.status == "pending" and not mail.outbox
    assert client.get(response["Location"]).status_code == 200  # the company sees its case

    time_machine.move_to(timezone.now() + timezone.timedelta(minutes=5))
    assert email_flush_pending() >= 1
    receipt.refresh_from_db()
    assert receipt.status == "sent"
    assert [m.to for m in mail.outbox if m.to == ["maria@roslagenskafe.se"]]


def test_broker_url_on_a_closed_port_still_answers_the_company(
    client, norrtalje, django_capture_on_commit_callbacks
):
    """The real Celery publish against a port nobody listens on."""
    from foretagslots.celery import app

    app.conf.task_always_eager = False
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = submit(client)
    finally:
        app.conf.broker_url = old
        app.conf.task_always_eager = True
    assert callbacks  # the publish was attempted after commit, and failed quietly
    assert response.status_code == 302
    assert OutgoingEmail.objects.filter(kind="receipt", status="pending").count() == 1


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
        kind="receipt", to="a@example.se", subject="s", body="b", case=case
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
    assert case.emails.filter(status="failed").exists()
