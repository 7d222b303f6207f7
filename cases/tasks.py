"""Thin Celery tasks of cases (the reminder sweep's are in followup.tasks)."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=10)
def attachment_scan_task(attachment_id: int) -> None:
    """Scan a quarantined attachment with clamd (only queued when CLAMAV_URL is set)."""
    from cases.services.attachments import attachment_scan

    attachment_scan(attachment_id=attachment_id)
