from celery import shared_task


@shared_task(acks_late=True)
def webhook_send_task(delivery_id: int) -> None:
    from api.webhooks import webhook_send

    webhook_send(delivery_id=delivery_id)


@shared_task
def webhook_sweep_task() -> None:
    from api.webhooks import webhook_sweep

    webhook_sweep()
