"""Connects Django's and django-axes' authentication signals to the audit trail.

Sign-in, sign-out and lockout happen inside the frameworks (LoginView, logout(), axes' handler),
so their signals are the one place to observe them. The receivers only translate the signal into
`audit.record()`; nothing else happens here.

Attempted user names are never stored: people type passwords into the email field. A failed or
locked-out attempt names the agent account it targeted when the name matches one, and otherwise
only says that it matched none.
"""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import pre_save
from django.dispatch import receiver

from audit import services as audit
from audit.models import AuditAction
from core.fields import redact_text_columns
from core.redaction import redacted

from .models import User


def _targeted_agent(username: str | None) -> User | None:
    if not username or len(username) > 254:
        return None
    return User.objects.filter(email__iexact=username.strip()).first()


@receiver(user_logged_in, dispatch_uid="accounts.audit.signed_in")
def signed_in(sender, request, user, **kwargs):
    audit.record(AuditAction.SIGN_IN, actor=user, target=user)


@receiver(user_login_failed, dispatch_uid="accounts.audit.sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    target = _targeted_agent(credentials.get("username"))
    audit.record(AuditAction.SIGN_IN_FAILED, target=target, known_account=target is not None)


@receiver(user_logged_out, dispatch_uid="accounts.audit.signed_out")
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(AuditAction.SIGN_OUT, actor=user, target=user)


@receiver(user_locked_out, dispatch_uid="accounts.audit.locked_out")
def locked_out(sender, request, username=None, ip_address=None, **kwargs):
    target = _targeted_agent(username)
    audit.record(AuditAction.LOCKED_OUT, target=target, known_account=target is not None)


# What django-axes and the admin store about an attempt or a change (a typed user name, the
# browser's User-Agent, GET and POST data, an object's name) is text someone typed.
for _model in (AccessAttempt, AccessFailureLog, AccessLog, AdminLogEntry):
    pre_save.connect(redact_text_columns, sender=_model, dispatch_uid=f"accounts.redact.{_model._meta.label_lower}")


def axes_username(request, credentials) -> str | None:
    """The user name django-axes records and looks attempts up by (AXES_USERNAME_CALLABLE), with
    card numbers redacted: stored rows are redacted, so the lookup must be too."""
    field = settings.AXES_USERNAME_FORM_FIELD
    username = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return redacted(username) if isinstance(username, str) else username
