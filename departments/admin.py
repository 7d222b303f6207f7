from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from departments.models import Department, Membership, ResponsibilityArea
from foretagslots.admin_display import person


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "email", "leads", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        leads = Membership.objects.filter(role=Membership.Role.LEAD).select_related("user")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("memberships", queryset=leads, to_attr="lead_memberships"))
        )

    @admin.display(description=_("Enhetschef"))
    def leads(self, department):
        return ", ".join(
            m.user.get_full_name() or m.user.get_username() for m in department.lead_memberships
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user_name", "department", "role", "is_available"]
    list_select_related = ["user", "department"]
    list_filter = ["role", "is_available", "department"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "department__name"]
    autocomplete_fields = ["user", "department"]

    @admin.display(description=_("Person"), ordering="user__first_name")
    def user_name(self, obj):
        return person(obj.user)


@admin.register(ResponsibilityArea)
class ResponsibilityAreaAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "owner", "first_answer_days", "resolution_days", "is_active"]
    list_filter = ["is_active", "owner", "insikt_area"]
    search_fields = ["name", "name_en", "slug", "description", "keywords"]
    filter_horizontal = ["consulted"]
    prepopulated_fields = {"slug": ["name"]}


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Staff by full name first: that is how colleagues know each other."""

    list_display = ["full_name", "username", "email", "is_active", "is_staff"]
    ordering = ["first_name", "last_name", "username"]

    @admin.display(description=_("Namn"), ordering="first_name")
    def full_name(self, obj):
        return person(obj)
