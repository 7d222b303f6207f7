"""Admin for support and data fixes. Cases are public records: nothing is deleted here."""

from django.contrib import admin

from cases.models import Case, CaseEvent, Company, Message


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ["created_at", "kind", "actor", "is_public", "data"]
    readonly_fields = fields


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "kind", "author", "author_name", "body", "is_confidential"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["reference", "subject", "company", "status", "owning_department", "owner"]
    list_filter = ["status", "channel", "owning_department", "needs_triage"]
    search_fields = ["reference", "subject", "company__name", "company__org_number"]
    list_select_related = ["company", "owning_department", "owner"]
    readonly_fields = ["reference", "received_at", "transfer_count", "routing_explanation"]
    raw_id_fields = ["company", "owner", "primary_area"]
    inlines = [MessageInline, CaseEventInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "org_number_display", "created_at"]
    search_fields = ["name", "org_number"]

    def has_delete_permission(self, request, obj=None):
        return False
