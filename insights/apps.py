"""Follow-up of the service: the coordinator's dashboard and the satisfaction survey
(Insikt/NKI) sent when a case closes."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = _("Uppföljning och nöjdhet")

    def ready(self):
        from django.db.backends.signals import connection_created

        from insights.periods import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="insights_sqlite_median")

        from cases.signals import case_closed

        case_closed.connect(invite_to_survey, dispatch_uid="insights.feedback_invite")


def invite_to_survey(sender, case_id: int, **kwargs) -> None:
    from insights.services import feedback_invite

    feedback_invite(case_id=case_id)
