"""Thin Celery tasks of cases (the reminder sweep's are in followup.tasks)."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=10)
def attachment_scan_task(attachment_id: int) -> None:
    """Scan a quarantined attachment with clamd.

    No longer published (the relay scans new files); kept so that messages already in the
    broker when this version is deployed are still handled."""
    from cases.services.attachments import attachment_scan

    attachment_scan(attachment_id=attachment_id)


@shared_task(acks_late=False, ignore_result=True)
def attachment_scan_relay_task() -> None:
    """Beat's "attachment-scan-relay", every OUTBOX_RELAY_SECONDS: scan the files the requests
    stored since the last run. A relay lost with its worker is simply the next one."""
    from cases.services.attachments import attachment_scan_relay

    attachment_scan_relay()
