"""Caller verification: identify the account, then prove entitlement with a one-time code
sent to the customer's email of record. Codes are stored hashed, expire after 10 minutes,
allow 5 attempts, and a new code voids the old one."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role
from audit import services as audit
from audit.models import AuditAction

from .models import CallerVerification, IdentifiedBy, Incident, VerificationStatus
from .outbox import notify_customer
from .playbook import PlaybookError

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
IDENTIFIED_BY = {
    IdentifiedBy.EMAIL: IdentifiedBy.EMAIL.label,
    IdentifiedBy.ACCOUNT_REFERENCE: IdentifiedBy.ACCOUNT_REFERENCE.label,
}
PASSED = (VerificationStatus.VERIFIED, VerificationStatus.OVERRIDDEN)


@dataclass(frozen=True)
class CheckResult:
    verified: bool
    message: str


def _record(action, verification: CallerVerification, actor, **data) -> None:
    incident = verification.incident
    audit.record(
        action, actor=actor, target=verification, incident_id=incident.pk, customer_id=incident.customer_id, **data
    )


def current_verification(incident: Incident) -> CallerVerification | None:
    return incident.verifications.order_by("-created_at", "-pk").first()


def caller_verified(incident: Incident) -> bool:
    return incident.verifications.filter(status__in=PASSED).exists()


def ensure_caller_verified(incident: Incident) -> None:
    if not caller_verified(incident):
        raise PlaybookError(
            "Verify the caller first (one-time code to the customer's address of record), or ask a supervisor to override."
        )


@transaction.atomic
def send_code(incident: Incident, *, identified_by: str, actor) -> CallerVerification:
    """Stage 2: email a fresh 6-digit code to the address of record; any older code stops working."""
    incident = Incident.objects.select_for_update().select_related("customer").get(pk=incident.pk)
    if identified_by not in IDENTIFIED_BY:
        raise PlaybookError("Say how the caller identified the account.")
    if caller_verified(incident):
        raise PlaybookError("The caller is already verified for this incident.")
    incident.verifications.filter(status=VerificationStatus.PENDING).update(status=VerificationStatus.REPLACED)
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    verification = CallerVerification.objects.create(
        created_at=now,
        incident=incident,
        identified_by=identified_by,
        code_hash=make_password(code),
        sent_to=incident.customer.email,
        expires_at=now + CODE_LIFETIME,
        requested_by=actor,
    )
    _record(AuditAction.CALLER_CODE_SENT, verification, actor, identified_by=identified_by)
    notify_customer(
        incident,
        template="verification_code",
        actor=actor,
        key=f"{incident.pk}:verification:{verification.pk}",
        code=code,
        minutes=int(CODE_LIFETIME.total_seconds() // 60),
    )
    return verification


@transaction.atomic
def check_code(incident: Incident, *, code: str, actor) -> CheckResult:
    """Compare the code the caller reads back. Every attempt is recorded, right or wrong."""
    verification = (
        CallerVerification.objects.select_for_update()
        .select_related("incident")
        .filter(incident=incident, status=VerificationStatus.PENDING)
        .first()
    )
    if verification is None:
        return CheckResult(False, "No code is waiting: send a new code to the customer.")
    if timezone.now() >= verification.expires_at:
        verification.status = VerificationStatus.EXPIRED
        verification.save(update_fields=["status"])
        _record(AuditAction.CALLER_VERIFICATION_FAILED, verification, actor, reason="expired")
        return CheckResult(False, "The code expired (codes last 10 minutes). Send a new one.")
    verification.attempts += 1
    code = "".join((code or "").split())
    if code.isdigit() and len(code) == 6 and check_password(code, verification.code_hash):
        verification.status, verification.verified_at = VerificationStatus.VERIFIED, timezone.now()
        verification.save(update_fields=["attempts", "status", "verified_at"])
        _record(AuditAction.CALLER_VERIFIED, verification, actor, method="email_code", attempts=verification.attempts)
        return CheckResult(True, "Caller verified with the one-time code.")
    left = MAX_ATTEMPTS - verification.attempts
    if left <= 0:
        verification.status = VerificationStatus.FAILED
    verification.save(update_fields=["attempts", "status"])
    _record(
        AuditAction.CALLER_VERIFICATION_FAILED, verification, actor, reason="wrong_code", attempts=verification.attempts
    )
    if left <= 0:
        return CheckResult(
            False,
            "Wrong code, and that was the last attempt. The caller is not verified; send a new code only if you trust the request.",
        )
    return CheckResult(False, f"Wrong code. {left} attempt{'s' if left != 1 else ''} left.")


@transaction.atomic
def override(incident: Incident, *, reason: str, actor) -> CallerVerification:
    """A supervisor vouches for the caller when the code route is impossible, in writing."""
    if not actor.has_any_role([Role.SUPERVISOR]):
        raise PermissionDenied("Only a supervisor can override caller verification.")
    if not reason.strip():
        raise PlaybookError("Write why the caller is trusted without the code.")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    incident.verifications.filter(status=VerificationStatus.PENDING).update(status=VerificationStatus.REPLACED)
    verification = CallerVerification.objects.create(
        incident=incident,
        identified_by=IdentifiedBy.SUPERVISOR,
        status=VerificationStatus.OVERRIDDEN,
        verified_at=timezone.now(),
        override_reason=reason,
        requested_by=actor,
    )
    _record(AuditAction.CALLER_OVERRIDE, verification, actor)
    return verification
