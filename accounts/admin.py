from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .access import reauth_required, recently_reauthenticated
from .models import User


class AgentCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class AgentChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = AgentCreationForm
    form = AgentChangeForm
    list_display = ("email", "full_name", "is_active", "is_staff", "access_expires_at", "last_login")
    list_filter = ("is_active", "is_staff", "groups")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Agent", {"fields": ("full_name", "groups", "access_expires_at")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)
    filter_horizontal = ("groups", "user_permissions")
    actions = ["reset_two_factor"]

    # Granting roles, staff rights or a new password is as sensitive as resetting a second factor:
    # the form opens only after a fresh confirmation, so nothing typed is lost to it.
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return reauth_required(super().changeform_view)(request, object_id, form_url, extra_context)

    def user_change_password(self, request, id, form_url=""):
        return reauth_required(super().user_change_password)(request, id, form_url)

    def has_delete_permission(self, request, obj=None):
        # The audit trail refers to agents: deactivate them instead.
        return False

    @admin.action(description="Reset two-factor authentication (forces re-enrolment)")
    def reset_two_factor(self, request, queryset):
        if not recently_reauthenticated(request):
            self.message_user(
                request,
                "Confirm it is you first (Your account → sensitive actions ask for password and code): "
                f"open {reverse('accounts:reauth')}, then run the action again.",
                messages.ERROR,
            )
            return
        for agent in queryset:
            services.reset_two_factor(agent, actor=request.user)
        self.message_user(request, f"Reset two-factor authentication of {queryset.count()} agent(s).", messages.SUCCESS)


# django-otp's own admin pages show TOTP secrets, QR codes and backup codes in clear. Nobody,
# not even an administrator, needs to see an agent's second factor: resets go through the
# action above or the supervisor's agent list.
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
