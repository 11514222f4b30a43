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
from core.masking import mask_email
from core.redaction import redacted

from .customers import AddressGuard
from .emails import notify_customer
from .models import CallerVerification, IdentifiedBy, Incident, VerificationStatus
from .playbook import PlaybookConflict, PlaybookError

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
        raise PlaybookConflict(
            "Verify the caller first (one-time code to the customer's address of record), or ask a supervisor to override."
        )


class AddressOnHold(PlaybookError):
    """The code may not go to that address (see incidents.customers.AddressGuard)."""


@dataclass(frozen=True)
class AddressPanel:
    """What the verification panel says about where a code can go."""

    hold: str | None  # why the address of record is on hold
    previous: str | None  # the previous address of record, masked, when a code may go there
    previous_hold: str | None  # why the previous address is on hold too


def address_panel(incident: Incident) -> AddressPanel:
    guard = AddressGuard.of(incident.customer)
    previous = guard.previous
    previous_hold = guard.hold(previous) if previous else None
    return AddressPanel(
        hold=guard.hold(incident.customer.email),
        previous=mask_email(previous) if previous and not previous_hold else None,
        previous_hold=previous_hold,
    )


def _recipient(incident: Incident, *, to_previous: bool, override_reason: str, actor) -> tuple[str, str | None]:
    """The address the code goes to, and the hold a supervisor overrode (or AddressOnHold)."""
    guard = AddressGuard.of(incident.customer)
    address = incident.customer.email
    if to_previous:
        if guard.hold(address) is None:
            raise PlaybookError("The address of record is not on hold: send the code there.")
        address = guard.previous
        if address is None:
            raise PlaybookError("This customer has no previous address of record.")
    hold = guard.hold(address)
    if hold is None:
        return address, None
    if not (override_reason or "").strip():
        previous = guard.previous
        hint = (
            " Send the code to the previous address of record instead, or ask a supervisor to override with a reason."
            if not to_previous and previous and guard.hold(previous) is None
            else " A supervisor can send it anyway, with a written reason."
        )
        raise AddressOnHold(hold + hint)
    if not actor.has_any_role([Role.SUPERVISOR]):
        raise PermissionDenied("Only a supervisor can send a code to an address on hold.")
    return address, hold


def send_code(
    incident: Incident, *, identified_by: str, actor, to_previous: bool = False, override_reason: str = ""
) -> CallerVerification:
    """Stage 2: email a fresh 6-digit code to the address of record; any older code stops working.

    Never to an address on hold (changed lately, or named by step 1 as an unauthorized change)
    unless a supervisor overrides with a reason; `to_previous` sends it to the previous address of
    record instead, which must not be on hold itself.
    """
    with transaction.atomic():
        rows = Incident.objects.select_for_update().select_related("customer")  # pragma: no mutate (saves a query)
        incident = rows.get(pk=incident.pk)
        if identified_by not in IDENTIFIED_BY:
            raise PlaybookError("Say how the caller identified the account.")
        if caller_verified(incident):
            raise PlaybookError("The caller is already verified for this incident.")
        address, overridden = _recipient(
            incident, to_previous=to_previous, override_reason=override_reason, actor=actor
        )
        incident.verifications.filter(status=VerificationStatus.PENDING).update(status=VerificationStatus.REPLACED)
        code = f"{secrets.randbelow(10**6):06d}"
        now = timezone.now()
        verification = CallerVerification.objects.create(
            created_at=now,
            incident=incident,
            identified_by=identified_by,
            code_hash=make_password(code),
            sent_to=address,
            expires_at=now + CODE_LIFETIME,
            requested_by=actor,
        )
        if overridden:
            _record(
                AuditAction.CALLER_ADDRESS_HOLD_OVERRIDDEN,
                verification,
                actor,
                hold=overridden,
                reason=redacted(override_reason.strip())[:500],
            )
        _record(
            AuditAction.CALLER_CODE_SENT,
            verification,
            actor,
            identified_by=identified_by,
            **({"to_previous_address": True} if to_previous else {}),
        )
        notify_customer(
            incident,
            template="verification_code",
            actor=actor,
            recipient=address,
            key=f"{incident.pk}:verification:{verification.pk}",
            code=code,
            minutes=int(CODE_LIFETIME.total_seconds() // 60),  # pragma: no mutate (whole minutes: / and // agree)
        )
        return verification


def check_code(incident: Incident, *, code: str, actor) -> CheckResult:
    """Compare the code the caller reads back. Every attempt is recorded, right or wrong."""
    with transaction.atomic():
        verification = (
            CallerVerification.objects.select_for_update()
            .select_related("incident")  # pragma: no mutate (saves the query _record makes for the incident)
            .filter(incident=incident, status=VerificationStatus.PENDING)
            .first()
        )
        if verification is None:
            return CheckResult(False, "No code is waiting: send a new code to the customer.")
        if timezone.now() >= verification.expires_at:
            verification.status = VerificationStatus.EXPIRED
            verification.save(update_fields=["status"])  # pragma: no mutate (the row is locked: the rest is unchanged)
            _record(AuditAction.CALLER_VERIFICATION_FAILED, verification, actor, reason="expired")
            return CheckResult(False, "The code expired (codes last 10 minutes). Send a new one.")
        verification.attempts += 1
        code = "".join((code or "").split())  # pragma: no mutate (any other stand-in for no code is no digits too)
        if code.isdigit() and len(code) == 6 and check_password(code, verification.code_hash):
            verification.status, verification.verified_at = VerificationStatus.VERIFIED, timezone.now()
            verification.save(update_fields=["attempts", "status", "verified_at"])  # pragma: no mutate (locked row)
            _record(
                AuditAction.CALLER_VERIFIED, verification, actor, method="email_code", attempts=verification.attempts
            )
            return CheckResult(True, "Caller verified with the one-time code.")
        left = MAX_ATTEMPTS - verification.attempts
        if left <= 0:
            verification.status = VerificationStatus.FAILED
        verification.save(update_fields=["attempts", "status"])  # pragma: no mutate (locked row)
        _record(
            AuditAction.CALLER_VERIFICATION_FAILED,
            verification,
            actor,
            reason="wrong_code",
            attempts=verification.attempts,
        )
        if left <= 0:
            return CheckResult(
                False,
                "Wrong code, and that was the last attempt. The caller is not verified; send a new code only if you trust the request.",
            )
        return CheckResult(False, f"Wrong code. {left} attempt{'s' if left != 1 else ''} left.")


def override(incident: Incident, *, reason: str, actor) -> CallerVerification:
    """A supervisor vouches for the caller when the code route is impossible, in writing."""
    with transaction.atomic():
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
