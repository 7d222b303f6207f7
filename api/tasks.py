from celery import shared_task


@shared_task(acks_late=True)
def webhook_send_task(delivery_id: int) -> None:
    from api.webhooks import webhook_send

    webhook_send(delivery_id=delivery_id)


@shared_task(acks_late=False, ignore_result=True)
def webhook_relay_task() -> None:
    """Beat's "webhook-relay", every OUTBOX_RELAY_SECONDS: POST the deliveries the requests
    wrote since the last run. A relay lost with its worker is simply the next one."""
    from api.webhooks import webhook_relay

    webhook_relay()


@shared_task
def webhook_sweep_task() -> None:
    from api.webhooks import webhook_sweep

    webhook_sweep()
