from django.contrib import admin

from accounts.adminkit import ReadOnlyAdmin
from incidents.admin import SettingAdmin

from .models import BreachObligation, DataBreach, NotificationRule


@admin.register(NotificationRule)
class NotificationRuleAdmin(SettingAdmin):
    list_display = ("jurisdiction", "title", "period_label", "high_risk_only", "is_example", "active")
    list_filter = ("active", "is_example", "jurisdiction")
    search_fields = ("jurisdiction", "title", "code")

    def has_delete_permission(self, request, obj=None):
        return False  # obligations refer to rules: deactivate instead


class ObligationInline(admin.TabularInline):
    model = BreachObligation
    extra = 0
    can_delete = False
    readonly_fields = ("rule", "due_at", "met_at", "met_how", "met_by")
    exclude = ("met_note", "warn_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DataBreach)
class DataBreachAdmin(ReadOnlyAdmin):
    list_display = ("incident", "aware_at", "high_risk", "marked_by")
    list_select_related = ("incident", "marked_by")
    exclude = ("description",)
    inlines = [ObligationInline]
