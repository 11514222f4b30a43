"""Admin pages for supervisors: look up and correct reference data. Workflow changes go through
the desk (services), so playbook records are read-only here."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.adminkit import ReadOnlyAdmin, ServiceAdmin

from . import customers, desk_settings
from .models import (
    CallerVerification,
    Customer,
    CustomerEmailChange,
    Escalation,
    Incident,
    Indicator,
    Note,
    ReplySnippet,
    SlaPolicy,
    UnauthorizedChange,
)


class CustomerChangeForm(forms.ModelForm):
    """The admin's customer form: checked by the same rules the service applies before it saves."""

    reason = forms.CharField(
        required=False,
        max_length=customers.MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the email of record changes: why, and how the customer asked for it. "
        "The old address is told of the change.",
    )

    class Meta:
        model = Customer
        fields = list(customers.FIELDS)

    def clean(self):
        cleaned = super().clean()
        original = Customer.objects.get(pk=self.instance.pk)
        values = {name: cleaned.get(name) for name in customers.FIELDS if name in self.changed_data}
        try:
            customers.clean_changes(original, values, reason=cleaned.get("reason", ""))
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return cleaned

    def _post_clean(self):
        # The service validates and saves; the model's own checks ran in clean_changes().
        pass


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    """Customers are created on the desk; here a supervisor corrects their details through
    incidents.customers.change_customer (masked, chained audit entry; the old address is told)."""

    form = CustomerChangeForm
    list_display = ("display_name", "account_reference", "email", "language", "created_at")
    search_fields = ("display_name", "account_reference", "email")
    list_filter = ("language",)
    fields = (*customers.FIELDS, "reason")

    def has_add_permission(self, request):
        return False  # the desk's "New customer" page creates them

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in customers.FIELDS if name in form.changed_data}
        customers.change_customer(
            Customer.objects.get(pk=obj.pk), actor=request.user, reason=form.cleaned_data.get("reason", ""), **values
        )


@admin.register(CustomerEmailChange)
class CustomerEmailChangeAdmin(ReadOnlyAdmin):
    list_display = ("customer", "changed_at", "changed_by")
    list_select_related = ("customer", "changed_by")
    exclude = ("old_email", "new_email")  # the history is for the desk's guard, not for browsing


class SettingAdmin(ServiceAdmin):
    """A desk setting: added, changed (and, for the allow list, removed) through incidents.desk_settings."""

    def save_model(self, request, obj, form, change):
        editable = desk_settings.editable(self.model)
        if change:
            values = {name: getattr(obj, name) for name in form.changed_data if name in editable}
            saved = desk_settings.change_setting(self.model.objects.get(pk=obj.pk), actor=request.user, **values)
        else:
            values = {name: getattr(obj, name) for name in editable if name in form.cleaned_data}
            saved = desk_settings.create_setting(self.model, actor=request.user, **values)
        obj.pk, obj._state.adding = saved.pk, False

    def delete_model(self, request, obj):
        desk_settings.delete_setting(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            desk_settings.delete_setting(obj, actor=request.user)


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


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ("incident", "visibility", "author", "created_at")
    list_filter = ("visibility",)
    list_select_related = ("incident", "author")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SettingAdmin):
    """Supervisors set the clocks per severity; each change is a chained audit entry."""

    list_display = ("severity", "first_update_minutes", "claim_minutes", "resolve_minutes", "warn_percent")
    ordering = ("-severity",)

    def has_delete_permission(self, request, obj=None):
        return False  # every severity keeps a policy


@admin.register(ReplySnippet)
class ReplySnippetAdmin(SettingAdmin):
    """Supervisors keep the reply snippets agents insert into what they write to customers; each
    addition and change is a chained audit entry. Deactivate one instead of removing it."""

    list_display = ("title", "language", "purpose", "active")
    list_filter = ("language", "purpose", "active")
    fields = ("title", "language", "purpose", "body", "active")

    def has_delete_permission(self, request, obj=None):
        return False
