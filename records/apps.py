"""The public-records side of a case: the register, release (export), secrecy marking, the audit
log page, and retention with anonymisation (gallring)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    """Public records: register, export, secrecy, audit log, retention and anonymisation."""

    name = "records"
    verbose_name = _("Allmänna handlingar")
