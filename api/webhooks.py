"""Webhooks through the outbox pattern.

A delivery row is written for each interested subscriber in the same transaction as the case
event (a post_save receiver, connected in ApiConfig.ready, so `cases` knows nothing of it).
The request publishes nothing: the worker's relay (beat's "webhook-relay", every
OUTBOX_RELAY_SECONDS) POSTs new deliveries, signed, about a second after commit; failures are
retried with backoff by a beat sweep for WEBHOOK_RETRY_HOURS, then marked failed with the last
response for the admin. Each delivery is claimed by a short lease, so it is sent once and a
slow or dead receiver holds up nothing else.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from api.models import WebhookDelivery, WebhookSubscription
from cases.models import Case, CaseEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Foretagslotsen-Signature"
TIMESTAMP_HEADER = "X-Foretagslotsen-Timestamp"
_SUBSCRIPTIONS_CACHE_KEY = "api:webhook-subscriptions"
LEASE = timedelta(minutes=5)
RESPONSE_KEPT = 2000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex. Receivers compute the same and compare."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + sign(secret, timestamp, body)
    return hmac.compare_digest(expected, signature)


# --- Writing deliveries (inside the change's transaction) ---------------------------------


# The subscriptions as this process last read them: (monotonic time read, list). A submission
# writes three events, and at load many submissions a second run through one process; each would
# otherwise be a cache round trip. A change is seen at once in the process that made it and
# within LOCAL_SECONDS in the others (until then their events are still listed by
# /api/v1/events/?after=<id>).
LOCAL_SECONDS = 2.0
_local: list = [0.0, None]


def active_subscriptions() -> list[tuple[int, int | None, list[str]]]:
    """(id, client's unit, kinds) of every active subscription, cached: most events have no
    subscriber and must not cost a query (nor, within LOCAL_SECONDS, a cache round trip)."""
    read_at, found = _local
    now = time.monotonic()
    if found is not None and now - read_at < LOCAL_SECONDS:
        return found
    try:
        found = cache.get(_SUBSCRIPTIONS_CACHE_KEY)
    except Exception:  # the cache being down must not stop a case from changing
        found = None
    if found is None:
        found = [
            (sub.pk, sub.client.department_id, list(sub.event_kinds or []))
            for sub in WebhookSubscription.objects.filter(
                is_active=True, client__is_active=True
            ).select_related("client")
            if sub.client.is_usable
        ]
        try:
            cache.set(_SUBSCRIPTIONS_CACHE_KEY, found, 300)
        except Exception:
            logger.warning("Cache unavailable; webhook subscriptions read from the database")
    _local[:] = [now, found]
    return found


def forget_subscriptions(**_kwargs) -> None:
    _local[:] = [0.0, None]
    try:
        cache.delete(_SUBSCRIPTIONS_CACHE_KEY)
    except Exception:
        logger.warning("Cache unavailable; webhook subscriptions may be stale for 5 minutes")


def payload_for(event: CaseEvent, reference: str) -> dict:
    """What a receiver gets: which case changed and how, no personal data; it reads the rest
    through the API, and missed events through /api/v1/events/?after=<id>."""
    return {
        "event_id": event.pk,
        "kind": event.kind,
        "case_id": event.case_id,
        "case_reference": reference,
        "created_at": event.created_at.isoformat(),
        "is_public": event.is_public,
    }


def deliveries_queue(event: CaseEvent) -> list[int]:
    """Write a delivery for every subscriber who wants this event and may see its case."""
    if event.kind == CaseEvent.Kind.VIEWED:
        return []
    wanted = [
        (pk, unit) for pk, unit, kinds in active_subscriptions() if not kinds or event.kind in kinds
    ]
    if not wanted:
        return []
    visible_units = set()
    scoped = {unit for _pk, unit in wanted if unit is not None}
    for unit in scoped:
        if Case.objects.visible_to_units([unit]).filter(pk=event.case_id).exists():
            visible_units.add(unit)
    wanted = [pk for pk, unit in wanted if unit is None or unit in visible_units]
    if not wanted:
        return []
    reference = Case.objects.filter(pk=event.case_id).values_list("reference", flat=True).first()
    payload = payload_for(event, reference or "")
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(subscription_id=pk, event=event, event_kind=event.kind, payload=payload)
            for pk in wanted
        ]
    )
    ids = [row.pk for row in rows if row.pk is not None]
    if not ids:  # backends that do not return ids from bulk inserts
        ids = list(WebhookDelivery.objects.filter(event=event).values_list("pk", flat=True))
    if settings.OUTBOX_SEND_ON_COMMIT:  # no worker (tests, eager development): send here
        for delivery_id in ids:
            transaction.on_commit(partial(_send_now, delivery_id))
    return ids


def on_case_event_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        deliveries_queue(instance)


def _send_now(delivery_id: int) -> None:
    try:
        webhook_send(delivery_id=delivery_id)
    except Exception:  # left pending; the relay or the sweep tries again
        logger.warning("Webhook delivery %s not sent; left pending", delivery_id, exc_info=True)


def enqueue_send(delivery_id: int) -> None:
    """Hand the delivery to a worker (the sweep, in the worker); broker down: the next sweep."""
    from api.tasks import webhook_send_task
    from outbox.services import publish_or_leave

    publish_or_leave(webhook_send_task, (delivery_id,))


# --- Sending (in the worker) --------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer, not a delivery


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    if not url.lower().startswith(("https://", "http://")):
        return None, "Only http and https receivers are supported."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, response.read(RESPONSE_KEPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(RESPONSE_KEPT).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"[:RESPONSE_KEPT]


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … at most an hour between attempts."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def webhook_send(*, delivery_id: int) -> str | None:
    """Try one delivery once; returns its status, or None if another worker has it or it is
    not due. The row is claimed by pushing its next attempt past a lease, so no lock is held
    while the receiver answers."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE)
    if not claimed:
        return None
    return _deliver(delivery_id)


def _deliver(delivery_id: int) -> str:
    """POST a claimed delivery once and record the answer."""
    now = timezone.now()  # signed as of the POST, also late in a relay's batch
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Foretagslotsen-Webhooks/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "sha256=" + sign(subscription.secret, timestamp, body),
        "X-Foretagslotsen-Event": delivery.event_kind,
        "X-Foretagslotsen-Delivery": str(delivery.pk),
    }
    code, text = _post(subscription.target_url, body, headers)
    done = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = code
    delivery.last_response = text
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.SENT
        delivery.delivered_at = done
    elif done - delivery.created_at >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        delivery.status = WebhookDelivery.Status.FAILED
        logger.warning("Webhook delivery %s failed for good (%s)", delivery.pk, code)
    else:
        delivery.next_attempt_at = done + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_response",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return delivery.status


# Deliveries claimed at a time by the relay: a batch POSTed at the slowest
# (WEBHOOK_TIMEOUT_SECONDS each) still fits in one LEASE.
RELAY_BATCH = 5


def _claim_new(limit: int) -> list[int]:
    """Lease up to `limit` deliveries never tried yet, oldest first, in one committed
    transaction; rows another relay or sender holds are skipped, not waited for."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + LEASE)
    return ids


def webhook_relay(*, limit: int = 100) -> int:
    """POST the deliveries written since the last run (never tried); returns how many.

    The worker runs it every OUTBOX_RELAY_SECONDS (`api.tasks.webhook_relay_task`, beat's
    "webhook-relay"), so a receiver hears of an event about a second after its commit. Safe
    to run concurrently with itself and the sweep: each delivery is leased before it is
    POSTed, so it goes out once. A failed POST is left to the sweep's retries with backoff.
    """
    done = 0
    while done < limit:
        ids = _claim_new(min(RELAY_BATCH, limit - done))
        if not ids:
            break
        done += len(ids)
        for delivery_id in ids:
            try:
                _deliver(delivery_id)
            except Exception:  # its lease runs out and the relay or the sweep tries again
                logger.warning("Webhook delivery %s not sent", delivery_id, exc_info=True)
    return done


def webhook_sweep(*, limit: int = 200) -> int:
    """Queue the deliveries that are due: retries, and any the relay missed."""
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        enqueue_send(delivery_id)
    return len(due)
