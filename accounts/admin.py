from contextvars import ContextVar

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import services
from .access import reauth_required, recently_reauthenticated
from .adminkit import ServiceAdmin, read_only
from .models import User

# The administrator setting a password in the admin's password form (bound per request).
_password_actor: ContextVar[User] = ContextVar("password_actor")


class AgentCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class AgentChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AgentPasswordForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saved through accounts.services.set_agent_password."""

    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data.get("set_usable_password", True) else None
        agent = services.set_agent_password(self.user, actor=_password_actor.get(), password=password)
        self.user.password = agent.password  # the admin keeps its own session when it is its own password
        return self.user


@admin.register(User)
class UserAdmin(ServiceAdmin, BaseUserAdmin):
    """Agents are created and changed through accounts.services (roles included: a role is a group)."""

    add_form = AgentCreationForm
    form = AgentChangeForm
    change_password_form = AgentPasswordForm
    readonly_fields = ("last_login", "date_joined")
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
    # the form opens only after a fresh confirmation (ServiceAdmin), so nothing typed is lost to it.
    def user_change_password(self, request, id, form_url=""):
        token = _password_actor.set(request.user)
        try:
            return reauth_required(super().user_change_password)(request, id, form_url)
        finally:
            _password_actor.reset(token)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            password = data.get("password1") if data.get("set_usable_password", True) else None
            agent = services.create_agent(
                actor=request.user, email=data["email"], full_name=data.get("full_name", ""), password=password
            )
            obj.pk, obj._state.adding = agent.pk, False
            return
        values = {name: data[name] for name in services.AGENT_FIELDS if name in form.changed_data}
        services.change_agent(
            User.objects.get(pk=obj.pk),
            actor=request.user,
            groups=data["groups"] if "groups" in form.changed_data else None,
            user_permissions=data["user_permissions"] if "user_permissions" in form.changed_data else None,
            **values,
        )

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


# Changing a group changes what every agent holding that role may do; roles are granted on the
# agent's page. Lockouts and the framework's field-change log are records: nobody edits them here.
for model in (Group, AccessAttempt, AccessLog, AccessFailureLog):
    read_only(model)
