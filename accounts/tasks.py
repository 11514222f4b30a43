"""Notices to agents about their own account: sent by the workers, never blocking a request."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from .models import User

NOTICES = {
    "factor_added": (
        "Bulwark: an authenticator was added to your account",
        "An authenticator app was just set up for your Bulwark account.",
    ),
    "backup_codes_replaced": (
        "Bulwark: your backup codes were replaced",
        "New backup codes were just made for your Bulwark account; the old ones no longer work.",
    ),
    "password_changed": (
        "Bulwark: your password was changed",
        "The password of your Bulwark account was just changed; every other browser signed in was signed out.",
    ),
    "factor_reset": (
        "Bulwark: your two-factor authentication was reset",
        "A supervisor reset the two-factor authentication of your Bulwark account. "
        "You will set up a new authenticator at your next sign-in.",
    ),
}
FOOTER = "\n\nIf this was not you or expected, tell your supervisor and the security team at once."


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_agent_notice(user_id: int, notice: str) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None or notice not in NOTICES:
        return
    subject, body = NOTICES[notice]
    send_mail(subject, f"Hello {user.get_short_name()},\n\n{body}{FOOTER}", settings.DEFAULT_FROM_EMAIL, [user.email])
