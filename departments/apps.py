"""The municipality's units, their members (a unit's lead is a member with the role lead) and
responsibility areas, with the public map of who answers what."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("Enheter och ansvarsområden")

    def ready(self):
        from departments.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, dispatch_uid="departments.ensure_role_groups")
