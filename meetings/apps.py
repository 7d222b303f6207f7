"""Lots meetings with a company and samverkansmöten between units: booking, agenda, minutes and
action items."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = _("Lotsmöten")

    def ready(self):
        # Action items are reminded and escalated by the reminder sweep, like cases.
        from followup.reminders import register_source
        from meetings.reminders import action_item_candidates

        register_source(action_item_candidates)

        # The user's open action items stand on their work list.
        from cases.selectors_staff import register_work_source
        from meetings.worklist import action_item_work

        register_work_source(action_item_work)
