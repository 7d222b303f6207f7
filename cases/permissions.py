"""Who may see and act on a case. Views and services both ask here."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _


def is_coordinator(user) -> bool:
    return user.is_authenticated and user.has_perm("cases.manage_all_cases")


def unit_ids(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_unit_ids", None)
    if cached is None:
        cached = set(user.memberships.values_list("department_id", flat=True))
        user._unit_ids = cached
    return cached


def lead_unit_ids(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_lead_unit_ids", None)
    if cached is None:
        cached = set(user.memberships.filter(role="lead").values_list("department_id", flat=True))
        user._lead_unit_ids = cached
    return cached


def can_view_case(user, case) -> bool:
    from cases.models import Case

    return Case.objects.visible_to(user).filter(pk=case.pk).exists()


def get_visible_case_or_404(user, **lookup):
    """A case the user may see, else 404: cases outside one's reach do not exist for them."""
    from cases.models import Case

    case = Case.objects.visible_to(user).for_list().filter(**lookup).first()
    if case is None:
        raise Http404
    return case


def can_act_on_case(user, case) -> bool:
    """Act as the case's owner: the helhetsansvarig, a member of the owning unit while the
    case has no owner, the unit's lead, or a coordinator."""
    if is_coordinator(user):
        return True
    if case.owner_id == user.pk:
        return True
    if case.owning_department_id in lead_unit_ids(user):
        return True
    return case.owner_id is None and case.owning_department_id in unit_ids(user)


def ensure_can_act(user, case) -> None:
    if not can_act_on_case(user, case):
        raise PermissionDenied(_("Du har inte behörighet att göra detta i ärendet."))


def can_assign_in(user, department_id: int) -> bool:
    return is_coordinator(user) or department_id in lead_unit_ids(user)
