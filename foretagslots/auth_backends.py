"""Django's ModelBackend, with a user's permissions read in one query.

Every staff page asks `has_perm` (is the user a coordinator?); Django's ModelBackend reads the
user's own permissions and their groups' permissions in two queries. This backend reads both
in one (per request: the result is kept on the user object as Django does), so a change of
roles still counts from the next request.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Q


class PortalModelBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            user_model = type(user_obj)
            own = user_model.user_permissions.through.objects.filter(user_id=user_obj.pk)
            groups = user_model.groups.through.objects.filter(user_id=user_obj.pk)
            via_groups = Group.permissions.through.objects.filter(
                group_id__in=groups.values("group_id")
            )
            rows = (
                Permission.objects.filter(
                    Q(pk__in=own.values("permission_id"))
                    | Q(pk__in=via_groups.values("permission_id"))
                )
                .values_list("content_type__app_label", "codename")
                .order_by()
            )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
