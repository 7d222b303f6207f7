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
