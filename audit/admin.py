from auditlog.models import LogEntry
from django.contrib import admin

from accounts.adminkit import read_only

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


# django-auditlog's field-change entries: records, never edited or deleted from the admin.
read_only(LogEntry)
