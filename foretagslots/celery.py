"""Celery app. Broker from CELERY_BROKER_URL: Redis in production, an embedded filesystem
broker (no server needed) by default."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foretagslots.settings")

app = Celery("foretagslots")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
