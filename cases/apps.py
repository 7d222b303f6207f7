"""A case's life: a company's question from intake through the officers' work to the final
answer, with its events, deadlines and pages for the company and for staff."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Ärenden")

    def ready(self):
        from cases.choices import connect_signals

        connect_signals()

        from routing.services import register_handled_cases

        register_handled_cases(examples=_case_examples, corrections_since=_corrections_since)


# Imported when the router is trained, not at start-up (they import the training code, numpy).
def _case_examples():
    from cases.training_examples import case_examples

    return case_examples()


def _corrections_since(moment):
    from cases.training_examples import corrections_since

    return corrections_since(moment)
