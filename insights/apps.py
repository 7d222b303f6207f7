"""Follow-up of the service: the coordinator's dashboard and the satisfaction survey
(Insikt/NKI) sent when a case closes."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = _("Uppföljning och nöjdhet")

    def ready(self):
        from cases.signals import case_closed

        case_closed.connect(invite_to_survey, dispatch_uid="insights.feedback_invite")

        from django.db.models.signals import post_save

        from cases.bulk import write_along
        from cases.models import Case
        from insights.summary import case_saved, new_cases_sql

        # The dashboard's per-case summary changes with the case, in the same transaction
        # (in the same statement when the case is inserted together with its rows).
        post_save.connect(case_saved, sender=Case, dispatch_uid="insights.case_figures")
        write_along(Case, new_cases_sql, uid="insights.case_figures")


def invite_to_survey(sender, case_id: int, **kwargs) -> None:
    from insights.services import feedback_invite

    feedback_invite(case_id=case_id)
