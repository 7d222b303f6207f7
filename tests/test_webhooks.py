"""Webhooks: written with the change, sent after commit, signed, retried, then failed."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from api.models import ApiClient, WebhookDelivery, WebhookSubscription
from api.webhooks import (
    LEASE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
    webhook_relay,
    webhook_send,
    webhook_sweep,
)
from cases.models import Case, CaseEvent
from cases.services.events import record_event
from tests.factories import CaseFactory, DepartmentFactory, submit_question

pytestmark = pytest.mark.django_db(transaction=False)


class Receiver:
    """A real HTTP server on localhost that answers with `status` and keeps what it got."""

    def __init__(self, status=200):
        self.status = status
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"receiver says %d" % receiver.status)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made = []

    def make(status=200):
        made.append(Receiver(status))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def subscribe(url, *, kinds=(), department=None, secret="s3cret-value"):
    client = ApiClient(name=f"Mottagare {ApiClient.objects.count()}", department=department)
    client.new_token()
    client.save()
    return WebhookSubscription.objects.create(
        client=client, target_url=url, secret=secret, event_kinds=list(kinds)
    )


def test_delivery_is_written_with_the_event_and_sent_signed_after_commit(
    receivers, django_capture_on_commit_callbacks
):
    receiver = receivers()
    subscribe(receiver.url, kinds=["closed"])
    case = CaseFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_event(case, CaseEvent.Kind.NOTE_ADDED)  # not wanted
        event = record_event(case, CaseEvent.Kind.CLOSED)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == event and delivery.status == "pending"
    assert receiver.received == []  # nothing leaves before commit

    for callback in callbacks:
        callback()

    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1
    headers, body = receiver.received[0]
    assert verify("s3cret-value", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify("wrong-secret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(
        "s3cret-value", headers[TIMESTAMP_HEADER], body + b" ", headers[SIGNATURE_HEADER]
    )
    payload = json.loads(body)
    assert payload == {
        "event_id": event.pk,
        "kind": "closed",
        "case_id": case.pk,
        "case_reference": case.reference,
        "created_at": event.created_at.isoformat(),
        "is_public": False,
    }


def test_signature_is_hmac_sha256_over_timestamp_and_body(
    receivers, django_capture_on_commit_callbacks
):
    import hashlib
    import hmac

    receiver = receivers()
    subscribe(receiver.url, secret="topsecret")
    with django_capture_on_commit_callbacks(execute=True):
        record_event(CaseFactory(), CaseEvent.Kind.CREATED)

    headers, body = receiver.received[0]
    expected = hmac.new(
        b"topsecret", headers[TIMESTAMP_HEADER].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"


def test_failing_receiver_is_retried_with_backoff_then_marked_failed_without_blocking_others(
    receivers, django_capture_on_commit_callbacks
):
    failing, working = receivers(500), receivers(200)
    subscribe(failing.url)
    subscribe(working.url)
    start = timezone.now()

    with (
        time_machine.travel(start, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        record_event(CaseFactory(), CaseEvent.Kind.CREATED)
    bad = WebhookDelivery.objects.get(subscription__target_url=failing.url)
    good = WebhookDelivery.objects.get(subscription__target_url=working.url)
    assert good.status == "sent"
    assert bad.status == "pending" and bad.attempts == 1 and bad.last_status_code == 500
    assert bad.next_attempt_at > start

    # Not due yet: the sweep leaves it alone.
    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        webhook_sweep()
    bad.refresh_from_db()
    assert bad.attempts == 1

    # Retried with growing gaps through the day, then given up.
    gaps = []
    moment = start
    while bad.status == "pending":
        previous = bad.next_attempt_at
        moment = bad.next_attempt_at
        with time_machine.travel(moment, tick=False):
            webhook_sweep()
        bad.refresh_from_db()
        if bad.status == "pending":
            gaps.append(bad.next_attempt_at - previous)
        assert bad.attempts < 100
    assert bad.status == "failed"
    assert moment - start >= timedelta(hours=24)
    assert gaps[1] > gaps[0] and max(gaps) <= timedelta(hours=1)
    assert bad.last_status_code == 500 and "receiver says 500" in bad.last_response
    assert len(failing.received) == bad.attempts
    assert len(working.received) == 1


def test_the_workers_relay_posts_a_new_delivery_once_and_the_request_publishes_nothing(
    receivers, django_capture_on_commit_callbacks, settings
):
    """As in production: the change only writes the delivery; the worker's relay (every
    second) POSTs it, and neither the next relay, the sweep nor a late send posts it again."""
    settings.OUTBOX_SEND_ON_COMMIT = False
    receiver = receivers()
    subscribe(receiver.url)

    with (
        mock.patch("outbox.services.publish_or_leave") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        event = record_event(CaseFactory(), CaseEvent.Kind.CREATED)
    assert not publish.called and receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 0

    assert webhook_relay() == 1
    assert webhook_relay() == 0
    webhook_sweep()
    assert webhook_send(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1
    assert [json.loads(body)["event_id"] for _headers, body in receiver.received] == [event.pk]


def test_a_delivery_whose_relay_died_is_posted_again_only_after_its_lease(receivers, settings):
    """The relay leases what it takes: while another relay holds a delivery (mid-POST) nothing
    else posts it; a relay that died is made good once its lease has run out."""
    settings.OUTBOX_SEND_ON_COMMIT = False
    receiver = receivers()
    subscribe(receiver.url)
    record_event(CaseFactory(), CaseEvent.Kind.CREATED)
    delivery = WebhookDelivery.objects.get()
    start = timezone.now()
    from api import webhooks

    with time_machine.travel(start, tick=False):
        assert webhooks._claim_new(5) == [delivery.pk]  # a relay that then died
        assert webhook_relay() == 0
        webhook_sweep()
    with time_machine.travel(start + LEASE - timedelta(seconds=1), tick=False):
        assert webhook_relay() == 0
    assert receiver.received == []
    with time_machine.travel(start + LEASE, tick=False):
        assert webhook_relay() == 1
    assert len(receiver.received) == 1


def test_unreachable_receiver_is_recorded_not_raised(django_capture_on_commit_callbacks):
    subscribe("http://127.0.0.1:9/nothing-listens-here")
    case = CaseFactory()

    with django_capture_on_commit_callbacks(execute=True):
        record_event(case, CaseEvent.Kind.CREATED)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_response


def test_unit_scoped_subscriber_hears_only_of_its_units_cases(receivers):
    mine, other = DepartmentFactory(), DepartmentFactory()
    subscription = subscribe("http://127.0.0.1:9/", department=mine)

    record_event(CaseFactory(owning_department=other), CaseEvent.Kind.CREATED)
    record_event(CaseFactory(owning_department=mine), CaseEvent.Kind.CREATED)

    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 1


def test_events_without_subscribers_cost_no_query(django_assert_num_queries):
    case = CaseFactory()
    record_event(case, CaseEvent.Kind.NOTE_ADDED)  # warms the subscription cache

    with django_assert_num_queries(1):
        record_event(case, CaseEvent.Kind.NOTE_ADDED)


def test_a_process_rereads_the_shared_subscriptions_only_every_few_seconds():
    """Three events of one submission, or many submissions a second, cost one cache read; a
    subscription another process made is heard of within LOCAL_SECONDS."""
    from unittest import mock

    from api import webhooks

    case = CaseFactory()
    record_event(case, CaseEvent.Kind.NOTE_ADDED)  # warms the process's copy
    with mock.patch.object(webhooks.cache, "get", wraps=webhooks.cache.get) as cache_get:
        for _ in range(3):
            record_event(case, CaseEvent.Kind.NOTE_ADDED)
    assert cache_get.call_count == 0

    # another process's admin adds a subscription (and empties the shared cache)
    this_process = list(webhooks._local)
    subscribe("http://127.0.0.1:9/")
    webhooks._local[:] = this_process
    record_event(case, CaseEvent.Kind.NOTE_ADDED)
    assert not WebhookDelivery.objects.exists()  # this process's copy is still fresh
    webhooks._local[0] -= webhooks.LOCAL_SECONDS  # time passes
    record_event(case, CaseEvent.Kind.NOTE_ADDED)
    assert WebhookDelivery.objects.count() == 1


def test_subscription_refuses_unknown_event_kinds():
    from django.core.exceptions import ValidationError

    subscription = subscribe("https://example.se/hook", kinds=["closed", "exploded"])

    with pytest.raises(ValidationError, match="exploded"):
        subscription.full_clean()
    subscription.event_kinds = ["closed", "reopened"]
    subscription.full_clean()


def test_a_question_from_the_public_form_is_announced_as_created_and_routed(
    client, norrtalje, settings, receivers, django_capture_on_commit_callbacks
):
    # The form's submission writes its events in bulk; subscribers must hear of them all the same.
    settings.FORM_MIN_FILL_SECONDS = 0
    receiver = receivers()
    subscribe(receiver.url, kinds=["created", "routed"])

    with django_capture_on_commit_callbacks(execute=True):
        response = submit_question(client)

    assert response.status_code == 302
    case = Case.objects.get()
    delivered = WebhookDelivery.objects.filter(event__case=case).values_list(
        "event__kind", "status"
    )
    assert sorted(delivered) == [("created", "sent"), ("routed", "sent")]
