from django.conf import settings

from cases.permissions import is_coordinator, lead_unit_ids


def portal(request):
    user = getattr(request, "user", None)
    staff = bool(user and user.is_authenticated)
    coordinator = staff and is_coordinator(user)
    return {
        "is_staff_user": staff,
        "is_coordinator": coordinator,
        # The overview is the coordinator's whole picture and each unit lead's own units.
        "can_see_overview": coordinator or (staff and bool(lead_unit_ids(user))),
        "oidc_enabled": settings.OIDC_ENABLED,
    }
