from django.contrib import admin

from insights.models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["case", "department", "insikt_area", "created_at", "answered_at", "nki_overall"]
    list_filter = ["insikt_area", "department", ("answered_at", admin.EmptyFieldListFilter)]
    search_fields = ["case__reference"]
    raw_id_fields = ["case", "follower"]
    readonly_fields = [field.name for field in Feedback._meta.fields]

    def has_add_permission(self, request):
        return False
