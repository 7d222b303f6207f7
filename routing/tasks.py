from celery import shared_task
from django.utils import timezone


@shared_task(ignore_result=True)
def retrain_router_task():
    """Hourly check: retrain when it is the nightly hour, enough officers' corrections have come
    in, or the responsibility map changed (see routing.services.retrain_due)."""
    from django.core.cache import cache

    from routing.services import retrain_due, train_and_store

    if retrain_due(timezone.localtime()) is None:
        return
    if not cache.add("routing:retrain-lock", 1, timeout=3600):  # one training at a time
        return
    try:
        train_and_store()
    finally:
        cache.delete("routing:retrain-lock")
