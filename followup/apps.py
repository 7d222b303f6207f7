"""Deadlines chased by the portal itself: reminders, escalation and the officers' morning
digest, from one sweep that other apps add their sources to."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    """Reminders, escalation and digests for every deadline in the portal."""

    name = "followup"
    verbose_name = _("Påminnelser")
