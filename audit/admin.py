from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are written by audit.services.record() and never changed."""

    list_display = ("seq", "created_at", "action", "actor_label", "target_type", "target_id", "incident_id")
    list_filter = ("action",)
    search_fields = ("actor_label", "request_id", "target_id")
    show_full_result_count = False  # COUNT(*) over a million rows on every page is not worth it

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
