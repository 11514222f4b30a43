from django.contrib import admin

from accounts.adminkit import ReadOnlyAdmin

from .models import SlaAlert


@admin.register(SlaAlert)
class SlaAlertAdmin(ReadOnlyAdmin):
    list_display = ("incident", "clock", "kind", "team", "due_at", "created_at", "emailed_at")
    list_filter = ("clock", "kind", "team")
    list_select_related = ("incident",)
