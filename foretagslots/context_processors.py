from cases.permissions import is_coordinator


def portal(request):
    user = getattr(request, "user", None)
    staff = bool(user and user.is_authenticated)
    return {
        "is_staff_user": staff,
        "is_coordinator": staff and is_coordinator(user),
    }
