"""E-mail written in the same transaction as the change and sent by the worker's relay
(every second) after commit; it knows nothing of what a mail is about."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = _("Utgående e-post")
