"""Thin Celery tasks around the reminder sweep (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def reminder_sweep_task() -> dict:
    """One sweep; idempotent (every reminder is a unique Reminder row)."""
    from followup.reminders import reminder_sweep

    report = reminder_sweep()
    return dict(report.sent)


@shared_task(acks_late=True, ignore_result=True)
def morning_digest_task() -> dict:
    """The officers' morning digest; at most once per officer and day."""
    from followup.reminders import morning_digest

    report = morning_digest()
    return dict(report.sent)


@shared_task(acks_late=True, ignore_result=True)
def email_send_batch_task(email_ids: list[int]) -> None:
    """Fan out: one retrying send task (outbox.tasks.email_send_task) per e-mail."""
    from outbox.tasks import email_send_task

    for email_id in email_ids:
        email_send_task.delay(email_id)
