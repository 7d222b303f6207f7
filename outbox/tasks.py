from celery import shared_task


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=4,
)
def email_send_task(email_id: int) -> None:
    from outbox.services import email_send

    email_send(email_id=email_id)


@shared_task(acks_late=False, ignore_result=True)
def email_relay_task() -> None:
    """Beat's "outbox-relay", every second: send what the requests queued since the last run.

    Not acknowledged late: a relay lost with its worker is simply the next second's relay.
    Each mail that fails is retried on its own task, with backoff.
    """
    from outbox.services import email_relay

    for email_id in email_relay():
        email_send_task.apply_async((email_id,), countdown=30)


@shared_task(acks_late=True)
def email_send_many_task(email_ids: list[int]) -> None:
    """Send the mails of one change; each failing one is retried on its own task.

    No longer published (the relay sends new mails); kept so that messages already in the
    broker when this version is deployed are still handled.
    """
    from outbox.services import email_send

    for email_id in email_ids:
        try:
            email_send(email_id=email_id)
        except Exception:
            email_send_task.apply_async((email_id,), countdown=30)
