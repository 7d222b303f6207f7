"""The four staff roles as Django groups with permissions.

Which cases a person may see and act on follows from Membership (their units) and from
these permissions: `cases.manage_all_cases` makes a lots coordinator.
"""

from django.utils.translation import gettext_lazy as _

OFFICER = "Handläggare"
LEAD = "Enhetschef"
COORDINATOR = "Lotssamordnare"
ADMINISTRATOR = "Administratör"

ROLE_LABELS = {
    OFFICER: _("Handläggare"),
    LEAD: _("Enhetschef"),
    COORDINATOR: _("Lotssamordnare"),
    ADMINISTRATOR: _("Administratör"),
}

_CASE_WORK = [
    "cases.view_case",
    "cases.change_case",
    "cases.add_case",
    "cases.view_company",
]

ROLE_PERMISSIONS = {
    OFFICER: _CASE_WORK,
    # A lead's rights in their unit (assigning, the unit's figures) follow from
    # Membership(role="lead"), the one source of truth for who leads a unit.
    LEAD: _CASE_WORK,
    COORDINATOR: _CASE_WORK
    + [
        "cases.manage_all_cases",
        "cases.view_dashboard",
        "cases.view_audit_log",
    ],
    ADMINISTRATOR: [
        "departments.add_department",
        "departments.change_department",
        "departments.view_department",
        "departments.add_membership",
        "departments.change_membership",
        "departments.delete_membership",
        "departments.view_membership",
        "departments.add_responsibilityarea",
        "departments.change_responsibilityarea",
        "departments.view_responsibilityarea",
        "auth.add_user",
        "auth.change_user",
        "auth.view_user",
        "auth.view_group",
    ],
}


def ensure_role_groups(sender=None, **kwargs):
    """Create the role groups and (re)attach their permissions; safe to run repeatedly."""
    from django.contrib.auth.models import Group, Permission

    for group_name, perm_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        perms = []
        for perm_name in perm_names:
            app_label, codename = perm_name.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.add(*perms)
