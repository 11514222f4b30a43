"""Agent account use cases: two-factor enrolment, verification, backup codes, resets.

Each writes its audit entry. Failures are recorded outside any transaction that the failure
rolls back, so a refused code stays on the record (and django-otp's throttling counter stays
incremented). Codes never go into an entry: only which method was used and why it was refused.
"""

from base64 import b32encode, b64encode
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device, VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import services as audit
from audit.models import AuditAction, AuditEntry
from core.masking import changes as audit_changes
from core.masking import mask_email, mask_name

from . import sessions
from .models import User
from .roles import AGENT_ADMIN_ROLES
from .tasks import send_agent_notice

TOTP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


class TwoFactorError(Exception):
    """A second-factor step was refused; the message is safe to show to the agent."""

    def __init__(self, message: str, *, reason: str = "refused"):
        super().__init__(message)
        self.reason = reason  # a short machine word for the audit entry


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, grouped for reading aloud or typing
    qr_data_uri: str


def has_confirmed_authenticator(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def start_enrolment(user: User) -> Enrolment:
    """The pending authenticator for an agent without one (the same one until confirmed)."""
    if has_confirmed_authenticator(user):
        raise TwoFactorError("You already have an authenticator. A supervisor can reset it.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    secret = b32encode(device.bin_key).decode()
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    qr = "data:image/svg+xml;base64," + b64encode(image.to_string()).decode()
    return Enrolment(
        device=device, secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), qr_data_uri=qr
    )


def confirm_enrolment(user: User, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code from it; returns it and fresh backup codes.

    The confirming code is verified through django-otp, which records its time step on the
    device, so the same code cannot be replayed at the next sign-in. Verification happens before
    the confirming transaction, so a wrong code's throttling and audit entry are kept.
    """
    try:
        if has_confirmed_authenticator(user):
            raise TwoFactorError("You already have an authenticator. A supervisor can reset it.", reason="enrolled")
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            raise TwoFactorError("Your enrolment expired; scan the new code below.", reason="no_pending_device")
        _ensure_not_throttled(device)
        if django_otp.verify_token(user, device.persistent_id, _normalise(token)) is None:
            raise TwoFactorError(
                "That code did not match. Check the time on your phone and try the newest code.", reason="wrong_code"
            )
    except TwoFactorError as exc:
        audit.record(
            AuditAction.SECOND_FACTOR_FAILED,
            actor=user,
            target=user,
            step="enrolment",
            method="totp",
            reason=exc.reason,
        )
        raise
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        audit.record(AuditAction.TWO_FACTOR_ENROLLED, actor=user, target=user, method="totp")
        notify_agent(user, "factor_added")
        return device, issue_backup_codes(user, notify=False)


@transaction.atomic
def issue_backup_codes(user: User, *, notify: bool = True) -> list[str]:
    """Replace the agent's backup codes with a new set; each code works once."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    audit.record(AuditAction.BACKUP_CODES_ISSUED, actor=user, target=user, count=len(codes))
    if notify:
        notify_agent(user, "backup_codes_replaced")
    return codes


def verify_second_factor(user: User, token: str) -> Device:
    """The device that accepts this code (TOTP or backup code), or TwoFactorError.

    django_otp.verify_token locks the device row, so one code submitted twice at once
    passes only once.
    """
    token = _normalise(token)
    model = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
    method = "totp" if model is TOTPDevice else "backup_code"
    try:
        if not token:
            raise TwoFactorError(
                "Enter the 6-digit code from your authenticator app, or a backup code.", reason="empty"
            )
        _ensure_under_hourly_limit(user)
        for device in model.objects.filter(user=user, confirmed=True):
            _ensure_not_throttled(device)
            verified = django_otp.verify_token(user, device.persistent_id, token)
            if verified is not None:
                audit.record(AuditAction.SECOND_FACTOR_PASSED, actor=user, target=user, method=method)
                return verified
        raise TwoFactorError(
            "That code is not valid. Codes work once; wait for the next one and try again.", reason="wrong_code"
        )
    except TwoFactorError as exc:
        audit.record(
            AuditAction.SECOND_FACTOR_FAILED, actor=user, target=user, step="sign_in", method=method, reason=exc.reason
        )
        raise


FAILURES_PER_HOUR = 100


def _ensure_under_hourly_limit(user: User) -> None:
    """At most 100 failed second-factor attempts per account per hour (back-off throttles far earlier)."""
    since = timezone.now() - timedelta(hours=1)
    failures = AuditEntry.objects.filter(
        actor=user, action=AuditAction.SECOND_FACTOR_FAILED, created_at__gte=since
    ).count()
    if failures >= FAILURES_PER_HOUR:
        raise TwoFactorError(
            "Too many failed codes for this account in the last hour. Try again later or ask a supervisor.",
            reason="hourly_limit",
        )


def reauthenticate(user: User, *, password: str, token: str) -> None:
    """Password and a fresh code again, before a sensitive action; TwoFactorError if either is wrong.

    Wrong passwords count toward the hourly limit of failures, so a stolen session cannot guess.
    """
    try:
        _ensure_under_hourly_limit(user)
    except TwoFactorError as exc:
        audit.record(AuditAction.SECOND_FACTOR_FAILED, actor=user, target=user, step="reauth", reason=exc.reason)
        raise
    if not user.check_password(password or ""):
        audit.record(AuditAction.SECOND_FACTOR_FAILED, actor=user, target=user, step="reauth", reason="wrong_password")
        raise TwoFactorError("Password or code is not right.", reason="wrong_password")
    verify_second_factor(user, token)
    audit.record(AuditAction.REAUTHENTICATED, actor=user, target=user)


@transaction.atomic
def change_password(user: User, *, new_password: str, keep_sid: str | None) -> int:
    """The agent sets a new password (after re-authenticating); returns how many other sessions ended.

    Every other browser signed in as the agent is signed out: a thief holding a session loses it
    with the old password. The browser that made the change keeps its session (`keep_sid`).
    Django's password validators decide what is acceptable (ValidationError otherwise).
    """
    password_validation.validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    ended = sessions.end_sessions(user, actor=user, keep_sid=keep_sid) if keep_sid else 0
    audit.record(AuditAction.PASSWORD_CHANGED, actor=user, target=user, other_sessions_ended=ended)
    notify_agent(user, "password_changed")
    return ended


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def reset_two_factor(agent: User, *, actor: User) -> None:
    """Remove every second factor of an agent, so their next sign-in starts a new enrolment."""
    removed_totp, _ = TOTPDevice.objects.filter(user=agent).delete()
    StaticDevice.objects.filter(user=agent).delete()
    audit.record(AuditAction.TWO_FACTOR_RESET, actor=actor, target=agent, authenticators_removed=removed_totp)
    notify_agent(agent, "factor_reset")


def notify_agent(user: User, notice: str) -> None:
    """Email the agent about a change to their second factors, once the change is committed."""
    transaction.on_commit(lambda: send_agent_notice.delay(user.pk, notice))


def _ensure_not_throttled(device: Device) -> None:
    allowed, extra = device.verify_is_allowed()
    if allowed:
        return
    if extra and extra.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
        locked_until = extra.get("locked_until")
        seconds = max(1, int((locked_until - timezone.now()).total_seconds())) if locked_until else 1
        raise TwoFactorError(f"Too many wrong codes. Wait {seconds} seconds before trying again.", reason="throttled")
    raise TwoFactorError("Verification is not possible right now; try again shortly.", reason="not_allowed")


def _normalise(token: str) -> str:
    return "".join((token or "").split()).replace("-", "").lower()


# --- Agent accounts: the one door for creating and changing them (the Django admin calls these) ---

AGENT_FIELDS = ("email", "full_name", "is_active", "is_staff", "is_superuser", "access_expires_at")
AGENT_MASKS = {"email": mask_email, "full_name": mask_name}
# Only a superuser may hand out (or take away) what bypasses the roles altogether.
SUPERUSER_ONLY = ("is_superuser", "user_permissions")


def _require_agent_admin(actor: User) -> None:
    if not actor.has_any_role(AGENT_ADMIN_ROLES):
        raise PermissionDenied("Only a supervisor can manage agents.")


def _access(agent: User) -> dict:
    """What an agent may do, as the audit entry records it (roles by name, permissions by codename)."""
    return {
        **{name: getattr(agent, name) for name in AGENT_FIELDS},
        "roles": sorted(agent.groups.values_list("name", flat=True)),
        "user_permissions": sorted(
            f"{app}.{codename}"
            for app, codename in agent.user_permissions.values_list("content_type__app_label", "codename")
        ),
    }


@transaction.atomic
def create_agent(*, actor: User, email: str, full_name: str = "", password: str | None = None) -> User:
    """A new agent account (no roles yet: grant them with change_agent)."""
    _require_agent_admin(actor)
    agent = User(email=User.objects.normalize_email(email or "").strip().lower(), full_name=(full_name or "").strip())
    if password:
        agent.set_password(password)
    else:
        agent.set_unusable_password()
    agent.full_clean()
    agent.save(force_insert=True)
    audit.record(
        AuditAction.AGENT_CREATED,
        actor=actor,
        target=agent,
        changes=audit_changes({}, {"email": agent.email, "full_name": agent.full_name}, masks=AGENT_MASKS),
    )
    return agent


@transaction.atomic
def change_agent(
    agent: User, *, actor: User, groups: Iterable | None = None, user_permissions: Iterable | None = None, **values
) -> User:
    """Change an agent's details, access and roles (`groups`); None leaves a field as it is.

    Deactivating an agent ends their sessions at once. Nothing changed, nothing recorded.
    """
    _require_agent_admin(actor)
    stray = set(values) - set(AGENT_FIELDS)
    if stray:
        raise ValueError(f"not an agent field: {sorted(stray)}")
    agent = User.objects.select_for_update().get(pk=agent.pk)
    before = _access(agent)
    if "email" in values:
        values["email"] = User.objects.normalize_email(values["email"] or "").strip().lower()
    for name, value in values.items():
        setattr(agent, name, value)
    agent.full_clean()
    fields = [name for name in values if before[name] != getattr(agent, name)]
    if fields:
        agent.save(update_fields=fields)
    if groups is not None and sorted(g.name for g in groups) != before["roles"]:
        agent.groups.set(groups)
    if user_permissions is not None:
        agent.user_permissions.set(user_permissions)
    after = _access(agent)
    changed = audit_changes(before, after, masks=AGENT_MASKS)
    if set(changed) & set(SUPERUSER_ONLY) and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can grant or remove superuser status or individual permissions.")
    if not changed:
        return agent
    audit.record(AuditAction.AGENT_CHANGED, actor=actor, target=agent, changes=changed)
    if "is_active" in changed and not agent.is_active:
        sessions.end_sessions(agent, actor=actor)
    return agent


@transaction.atomic
def set_agent_password(agent: User, *, actor: User, password: str) -> User:
    """An administrator sets an agent's password (never recorded: only that it was set)."""
    _require_agent_admin(actor)
    agent = User.objects.select_for_update().get(pk=agent.pk)
    agent.set_password(password)
    agent.save(update_fields=["password"])
    audit.record(AuditAction.AGENT_PASSWORD_SET, actor=actor, target=agent)
    return agent
