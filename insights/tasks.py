"""Thin Celery tasks of the dashboard (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task


@shared_task(ignore_result=True, expires=120)
def dashboard_warm_task() -> int:
    """Keep the coordinator's period figures in the cache; idempotent."""
    from insights.services import dashboard_warm

    return dashboard_warm()
