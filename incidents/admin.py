"""Admin pages for supervisors: look up and correct reference data. Workflow changes go through
the desk (services), so playbook records are read-only here."""

from django.contrib import admin

from .models import (
    AllowedNetwork,
    BreachObligation,
    CallerVerification,
    Customer,
    CustomerUpdate,
    DataBreach,
    Escalation,
    Incident,
    Indicator,
    Note,
    NotificationRule,
    SlaAlert,
    SlaPolicy,
    UnauthorizedChange,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("display_name", "account_reference", "email", "language", "created_at")
    search_fields = ("display_name", "account_reference", "email")
    list_filter = ("language",)

    def has_delete_permission(self, request, obj=None):
        return False


class ChangeInline(admin.TabularInline):
    model = UnauthorizedChange
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "description", "noticed_at", "recorded_by", "created_at")

    def has_add_permission(self, request, obj=None):
        return False


class IndicatorInline(ChangeInline):
    model = Indicator
    readonly_fields = ("ip", "scope", "verdict", "recorded_by", "created_at")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "customer", "stage", "status", "severity", "team", "assignee", "created_at")
    list_filter = ("status", "stage", "severity", "team", "channel", "restricted")
    search_fields = ("summary", "customer__display_name", "customer__account_reference")
    list_select_related = ("customer", "assignee")
    inlines = [ChangeInline, IndicatorInline]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ("incident", "from_team", "to_team", "severity", "status", "requested_at", "claimed_by")
    list_filter = ("to_team", "status", "severity")
    list_select_related = ("incident", "claimed_by")


@admin.register(CallerVerification)
class CallerVerificationAdmin(ReadOnlyAdmin):
    list_display = ("incident", "identified_by", "status", "attempts", "created_at", "requested_by")
    list_filter = ("status", "identified_by")
    exclude = ("code_hash",)
    list_select_related = ("incident", "requested_by")


@admin.register(CustomerUpdate)
class CustomerUpdateAdmin(ReadOnlyAdmin):
    list_display = ("incident", "template", "language", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "template", "language")
    list_select_related = ("incident",)


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ("incident", "visibility", "author", "created_at")
    list_filter = ("visibility",)
    list_select_related = ("incident", "author")


@admin.register(AllowedNetwork)
class AllowedNetworkAdmin(admin.ModelAdmin):
    """The desk-wide allow list campaign detection skips (a customer's office, our own VPN)."""

    list_display = ("network", "label", "added_by", "created_at")
    search_fields = ("network", "label")
    readonly_fields = ("added_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """Supervisors set the clocks per severity; changes are recorded by auditlog."""

    list_display = ("severity", "first_update_minutes", "claim_minutes", "resolve_minutes", "warn_percent")
    ordering = ("-severity",)

    def has_delete_permission(self, request, obj=None):
        return False  # every severity keeps a policy


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ("jurisdiction", "title", "period_label", "high_risk_only", "is_example", "active")
    list_filter = ("active", "is_example", "jurisdiction")
    search_fields = ("jurisdiction", "title", "code")

    def has_delete_permission(self, request, obj=None):
        return False  # obligations refer to rules: deactivate instead


@admin.register(SlaAlert)
class SlaAlertAdmin(ReadOnlyAdmin):
    list_display = ("incident", "clock", "kind", "team", "due_at", "created_at", "emailed_at")
    list_filter = ("clock", "kind", "team")
    list_select_related = ("incident",)


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
