"""Sending one outbox row: claimed, sent at most once per claim, the outcome recorded and audited.

Called by the Celery task (tasks.py), which decides about retries.
"""

import logging
import re
import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.models import AuditAction

from .catalog import SECRET_TEMPLATES, mask_secrets
from .models import CustomerUpdate, UpdateStatus
from .rendering import clean_header

logger = logging.getLogger(__name__)

_ADDRESS = re.compile(r"[^\s<>\"',;()\[\]{}]*@[^\s<>\"',;()\[\]{}]*")


def without_addresses(text: str) -> str:
    """An SMTP error with every email address replaced by a placeholder."""
    return _ADDRESS.sub("<address>", text)


class DeliveryError(Exception):
    """Sending failed in a way worth retrying (network trouble, SMTP 4xx)."""


class PermanentDeliveryError(Exception):
    """Sending can never succeed as the row stands (bad address, SMTP 5xx): no retries."""


def message_id_for(update: CustomerUpdate) -> str:
    """A Message-ID derived from the idempotency key: the same on every attempt, so a receiving
    server or mail client that sees a redelivered copy can tell it is the same email."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "bulwark.localhost"
    local = re.sub(r"[^A-Za-z0-9._-]", ".", update.idempotency_key)
    return f"<{local}@{clean_header(domain).replace(' ', '')}>"


def _check_recipient(address: str) -> None:
    try:
        if clean_header(address) != address:
            raise ValidationError("control characters")
        validate_email(address)
    except ValidationError as exc:
        raise PermanentDeliveryError(f"Recipient address {address!r} is not a valid email address.") from exc


def _classify(exc: Exception) -> Exception:
    """Permanent or worth retrying? SMTP 5xx and refused recipients are permanent, the rest transient."""
    if isinstance(exc, PermanentDeliveryError | DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        detail = "; ".join(f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values())
        cls = PermanentDeliveryError if codes and min(codes) >= 500 else DeliveryError
        return cls(f"Recipient refused by the mail server: {detail}")
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        cls = PermanentDeliveryError if exc.smtp_code >= 500 else DeliveryError
        return cls(f"Mail server answered {exc.smtp_code} {message}")
    if isinstance(exc, BadHeaderError | ValueError | UnicodeError):
        return PermanentDeliveryError(f"The email cannot be built: {exc}")
    return DeliveryError(f"{exc.__class__.__name__}: {exc}")


def _claim(update_id: int) -> int | None:
    """Mark the row `sending` and count the attempt, in a transaction of its own.

    Returns the attempt number that is the claim token, or None if there is nothing to do. Committing
    `sending` before talking to the mail server makes the attempt visible (panel, sweeper) even if
    the worker dies mid-send; a second task for the same row may take the claim over, and only the
    holder of the current token sends (checked under the row lock in `deliver`).
    """
    with transaction.atomic():
        update = CustomerUpdate.objects.select_for_update().get(pk=update_id)
        if update.status in (UpdateStatus.SENT, UpdateStatus.FAILED):
            return None
        update.status = UpdateStatus.SENDING
        update.attempts += 1
        update.message_id = update.message_id or message_id_for(update)
        update.updated_at = timezone.now()
        update.save(update_fields=["status", "attempts", "message_id", "updated_at"])
        return update.attempts


def deliver(update_id: int, *, final_attempt: bool = False) -> str:
    """Send one update at most once per claim; returns the resulting status.

    Exactly-once, as far as our side can make it: the row lock is held from the status check until
    the outcome is committed, so a duplicate task (broker redelivery, sweeper, agent retry) waits
    and then finds the row `sent`. The one window left is a worker that dies after the mail server
    accepted the message but before the commit: the row stays `sending`, the sweeper re-enqueues
    it, and the customer's server receives a second copy with the same Message-ID and
    X-Bulwark-Update header, which lets it (or a mail client) drop the duplicate.

    Raises DeliveryError when a retry may help (the task decides whether to retry).
    """
    token = _claim(update_id)
    if token is None:
        return CustomerUpdate.objects.values_list("status", flat=True).get(pk=update_id)
    with transaction.atomic():
        update = CustomerUpdate.objects.select_for_update(of=("self",)).select_related("incident").get(pk=update_id)
        if update.status != UpdateStatus.SENDING or update.attempts != token:
            return update.status  # another task took the claim over; it sends, not us
        try:
            _check_recipient(update.recipient)
            message = EmailMultiAlternatives(
                subject=clean_header(update.subject),
                body=update.body_text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[update.recipient],
                headers={"Message-ID": update.message_id, "X-Bulwark-Update": clean_header(update.idempotency_key)},
            )
            message.attach_alternative(update.body_html, "text/html")
            message.send()
        except Exception as raw:
            failure = _classify(raw)
            status = _record_failure(
                update, failure, final=final_attempt or isinstance(failure, PermanentDeliveryError)
            )
        else:
            return _record_success(update)
    # Outside the transaction, so the error recorded on the row is committed before the retry.
    if status != UpdateStatus.FAILED:
        raise DeliveryError(update.last_error) from failure
    return status


def _record_success(update: CustomerUpdate) -> str:
    """Record the send; one-time codes are masked in the stored copy now that the customer has it."""
    update.status = UpdateStatus.SENT
    update.sent_at = update.updated_at = timezone.now()
    update.last_error = ""
    fields = ["updated_at", "last_error", "status", "sent_at"]
    if update.template in SECRET_TEMPLATES:
        update.body_text, update.body_html = mask_secrets(update.body_text), mask_secrets(update.body_html)
        fields += ["body_text", "body_html"]
    update.save(update_fields=fields)
    audit.record(
        AuditAction.EMAIL_SENT,
        target=update,
        incident_id=update.incident_id,
        customer_id=update.customer_pk,
        message_id=update.message_id,
        attempts=update.attempts,
    )
    return update.status


def _record_failure(update: CustomerUpdate, exc: Exception, *, final: bool) -> str:
    """Keep the error on the row; `failed` (audited) when no retry is coming, else back to `queued`."""
    update.last_error = str(exc)[:1000]
    update.updated_at = timezone.now()
    update.status = UpdateStatus.FAILED if final else UpdateStatus.QUEUED
    update.save(update_fields=["updated_at", "last_error", "status"])
    if not final:
        return update.status
    # The row's error can be corrected or erased; the log and the audit trail cannot, so they
    # never quote the customer's address.
    error = without_addresses(update.last_error)
    logger.warning("customer update %s failed after %s attempt(s): %s", update.pk, update.attempts, error)
    audit.record(
        AuditAction.EMAIL_FAILED,
        target=update,
        incident_id=update.incident_id,
        customer_id=update.customer_pk,
        error=error,
        attempts=update.attempts,
    )
    return update.status
