"""Celery app. Broker from CELERY_BROKER_URL: Redis in production, an embedded filesystem
broker (no server needed) by default.

Only the worker, beat and code that publishes import this module (`celery -A foretagslots`
finds it); a web worker serving the public form and the staff pages never imports Celery.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foretagslots.settings")


def beat_schedule(entries: dict) -> dict:
    """settings.CELERY_BEAT_SCHEDULE with each dict of crontab fields made a `crontab`."""
    return {
        name: {
            **entry,
            "schedule": crontab(**entry["schedule"])
            if isinstance(entry["schedule"], dict)
            else entry["schedule"],
        }
        for name, entry in entries.items()
    }


app = Celery("foretagslots")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = beat_schedule(app.conf.beat_schedule)
app.autodiscover_tasks()
