from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils import formats, timezone

from core.widgets import OneQueryModelChoiceField


class SignInForm(AuthenticationForm):
    """Email and password: the first of the two factors."""

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an active agent account.",
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.access_expired:
            when = formats.date_format(timezone.localtime(user.access_expires_at), "DATETIME_FORMAT")
            raise forms.ValidationError(
                f"Your access to Bulwark ended on {when}. Ask a supervisor to extend it.",
                code="access_expired",
            )


class NewPasswordForm(SetPasswordForm):
    """A new password, typed twice, checked by Django's password validators (see settings)."""

    error_messages = {"password_mismatch": "The two passwords do not match: type the same new password twice."}

    def save(self, commit=True):  # the service sets the password, audited; the form only validates
        raise NotImplementedError("use accounts.services.change_password")


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "autocapitalize": "off"}
        ),
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
    )


class EnrolmentForm(forms.Form):
    token = forms.CharField(
        label="Code from your app",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text="Enter the 6-digit code your app now shows, to prove it is set up.",
    )


class ReauthForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True})
    )
    token = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"}),
        help_text="A fresh 6-digit code from your authenticator app, or a backup code.",
    )


class AgentChoiceField(OneQueryModelChoiceField):
    """A select of agents (filters of the incident list; the audit trail has its own, by email)."""
