from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from foretagslots.admin_display import person
from meetings.models import ActionItem, AgendaItem, LotsMeeting, MeetingInvitation


class InvitationInline(admin.TabularInline):
    model = MeetingInvitation
    extra = 0
    autocomplete_fields = ["department"]
    filter_horizontal = ["attendees"]


class AgendaInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    raw_id_fields = ["case"]


class ActionInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    raw_id_fields = ["case", "owner", "done_by", "created_by"]


@admin.register(LotsMeeting)
class LotsMeetingAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "kind", "starts_at", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "case__reference"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["case", "created_by"]
    inlines = [InvitationInline, AgendaInline, ActionInline]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "owner_name", "due_on", "done_at"]
    list_select_related = ["department", "owner"]
    list_filter = ["department"]
    search_fields = ["title", "case__reference"]
    raw_id_fields = ["meeting", "case", "owner", "done_by", "created_by"]

    @admin.display(description=_("Ansvarig"), ordering="owner__first_name")
    def owner_name(self, obj):
        return person(obj.owner)
