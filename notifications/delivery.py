"""Sending outbox rows, a batch at a time: claimed, sent, marked, recorded and audited.

1. Claim, in one transaction: the batch's `queued` rows become `sending` under a lease of this
   worker (marks.py); a row that already carries an accepted mark is recorded `sent` instead.
2. Send each row over the thread's open SMTP connection (smtp.py). The instant the server answers
   250 the row gets its accepted mark in Redis: before QUIT, before any database work.
3. Record, in one transaction: every outcome of the batch, and their audit entries in one append
   to the chain (audit.services.record_many).

Database errors in 1 and 3 are retried with short back-off (`with_db_retries`) rather than
dropping the batch; while the worker waits, its lease keeps the sweeper off its rows, and should
it die, the sweeper resolves them by their marks. Called by the Celery tasks (tasks.py), which
schedule the retries of emails the mail server turned away for now.
"""

import contextlib
import functools
import logging
import random
import re
import smtplib
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.core.validators import validate_email
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from audit import services as audit
from audit.models import AuditAction

from . import marks, smtp
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


def message_id_for(idempotency_key: str) -> str:
    """A Message-ID derived from the idempotency key: the same on every attempt, so a receiving
    server or mail client that sees a redelivered copy can tell it is the same email."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "bulwark.localhost"
    local = re.sub(r"[^A-Za-z0-9._-]", ".", idempotency_key)
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


MAX_ATTEMPTS = 5
DB_RETRY_FOR = 80.0  # seconds a batch waits out a database outage (the task's soft limit is 90 s)


def with_db_retries(work, *, retry_for: float = DB_RETRY_FOR):
    """Run `work()`; on a lost database connection wait 0.25, 0.5, 1, 2, 2 ... s and run it again,
    for up to `retry_for` seconds. Inside a caller's transaction nothing can be retried: it raises."""
    deadline, delay = time.monotonic() + retry_for, 0.25
    while True:
        try:
            return work()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("outbox: database unavailable, retrying in %.2fs", delay)
            with contextlib.suppress(Exception):
                connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@dataclass
class Outcome:
    """What became of one batch: statuses by pk, and the pks to try again later (with their attempts)."""

    statuses: dict[int, str] = field(default_factory=dict)
    retry: dict[int, int] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)


def deliver(update_id: int, *, final_attempt: bool = False) -> str:
    """Send one row (a batch of one); returns its status. Raises DeliveryError when a retry may help."""
    outcome = deliver_batch([update_id], final_attempt=final_attempt)
    if update_id in outcome.retry:
        raise DeliveryError(outcome.errors[update_id])
    return outcome.statuses.get(update_id) or CustomerUpdate.objects.values_list("status", flat=True).get(pk=update_id)


def deliver_batch(ids: list[int], *, final_attempt: bool = False) -> Outcome:
    """Claim, send and record the rows `ids` (those still `queued`; the rest are left alone).

    A failure the mail server calls temporary leaves the row `queued` with its error and a
    `retry_at`, listed in `Outcome.retry` for the caller to schedule; the MAX_ATTEMPTS-th, a
    permanent failure, or any failure when `final_attempt`, makes it `failed` (audited).
    """
    outcome = Outcome()
    lease = marks.new_lease()
    holding = marks.hold(lease)
    try:
        claimed = with_db_retries(lambda: _claim(ids, lease if holding else "", outcome))
        sent, failures = [], []
        for update in claimed:
            try:
                _send(update)
            except Exception as raw:
                failures.append((update, _classify(raw)))
            else:
                marks.set_accepted(update)  # first thing after the 250: see the module docstring
                sent.append(update)
        if sent or failures:
            with_db_retries(lambda: _record(sent, failures, final_attempt, outcome))
    finally:
        if holding:
            marks.release(lease)
    return outcome


def _claim(ids: list[int], lease: str, outcome: Outcome) -> list[CustomerUpdate]:
    """Lock the batch's `queued` rows (skipping rows another worker has locked), resolve those
    the mail server has already accepted, and mark the rest `sending` under `lease`."""
    with transaction.atomic():
        rows = list(
            CustomerUpdate.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("incident")
            .filter(pk__in=ids, status=UpdateStatus.QUEUED)
            .order_by("pk")
        )
        try:
            done = marks.accepted(rows)
        except marks.StoreUnavailable:
            done = set()  # a `queued` row carries a mark only after a lost record: rare, and sent once more
        already = [row for row in rows if row.pk in done]
        if already:
            record_sent(already)
        now = timezone.now()
        claimed = [row for row in rows if row.pk not in done]
        CustomerUpdate.objects.filter(pk__in=[row.pk for row in claimed]).update(
            status=UpdateStatus.SENDING, attempts=F("attempts") + 1, claimed_by=lease, updated_at=now, retry_at=None
        )
        for row in claimed:
            row.status, row.attempts, row.claimed_by = UpdateStatus.SENDING, row.attempts + 1, lease
            row.updated_at, row.retry_at = now, None
            if not row.message_id:  # set when queued; rows written otherwise get theirs now
                row.message_id = message_id_for(row.idempotency_key)
                row.save(update_fields=["message_id"])
    outcome.statuses.update({row.pk: row.status for row in already})
    return claimed


def _send(update: CustomerUpdate) -> None:
    _check_recipient(update.recipient)
    message = EmailMultiAlternatives(
        subject=clean_header(update.subject),
        body=update.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[update.recipient],
        headers={"Message-ID": update.message_id, "X-Bulwark-Update": clean_header(update.idempotency_key)},
    )
    message.attach_alternative(update.body_html, "text/html")
    if not smtp.uses_smtp():
        message.send()  # files, memory: Django's backend
        return
    encoding = message.encoding or settings.DEFAULT_CHARSET
    smtp.send(
        _envelope_address(message.from_email, encoding),
        _envelope_address(update.recipient, encoding),
        message.message().as_bytes(linesep="\r\n"),
    )


@functools.lru_cache(maxsize=1024)
def _envelope_address(address: str, encoding: str) -> str:
    """The address as Django's SMTP backend puts it on the envelope (parsing it is not cheap)."""
    return sanitize_address(address, encoding)


def _record(sent, failures, final_attempt: bool, outcome: Outcome) -> None:
    with transaction.atomic():
        entries = record_sent(sent, audit_now=False)
        for update, failure in failures:
            final = final_attempt or isinstance(failure, PermanentDeliveryError) or update.attempts >= MAX_ATTEMPTS
            entries += _record_failure(update, failure, final=final)
            if not final:
                outcome.retry[update.pk] = update.attempts
                outcome.errors[update.pk] = update.last_error
        audit.record_many(entries)
    outcome.statuses.update({update.pk: update.status for update in sent})
    outcome.statuses.update({update.pk: update.status for update, _failure in failures})


def record_sent(updates: list[CustomerUpdate], *, audit_now: bool = True) -> list[dict]:
    """Record the sends (one-time codes are masked in the stored copy now that the customer has
    it); returns their audit entries, appended at once unless `audit_now` is False. In a transaction."""
    now = timezone.now()
    values = {"status": UpdateStatus.SENT, "sent_at": now, "updated_at": now, "last_error": "", "claimed_by": ""}
    for update in updates:
        for name, value in values.items():
            setattr(update, name, value)
        if update.template in SECRET_TEMPLATES:
            update.body_text, update.body_html = mask_secrets(update.body_text), mask_secrets(update.body_html)
            update.save(update_fields=[*values, "body_text", "body_html"])
    CustomerUpdate.objects.filter(pk__in=[u.pk for u in updates if u.template not in SECRET_TEMPLATES]).update(**values)
    entries = [
        {
            "action": AuditAction.EMAIL_SENT,
            "target": update,
            "incident_id": update.incident_id,
            "customer_id": update.customer_pk,
            "message_id": update.message_id,
            "attempts": update.attempts,
        }
        for update in updates
    ]
    if audit_now:
        audit.record_many(entries)
        return []
    return entries


def retry_delay(attempts: int) -> float:
    """Seconds before the next try of a row tried `attempts` times: exponential, with jitter so that
    many emails failing together (a mail server restart) do not all come back in the same second.

    With the default base of 10 s: ~5-10, 10-20, 20-40, 40-80 s.
    """
    delay = settings.EMAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return delay / 2 + random.uniform(0, delay / 2)


def _record_failure(update: CustomerUpdate, exc: Exception, *, final: bool) -> list[dict]:
    """Keep the error on the row; `failed` (audited) when no retry is coming, else back to `queued`
    with the time of its next try. Returns the audit entries to append."""
    update.last_error = str(exc)[:1000]
    update.updated_at = timezone.now()
    update.claimed_by = ""
    update.status = UpdateStatus.FAILED if final else UpdateStatus.QUEUED
    update.retry_at = None if final else update.updated_at + timedelta(seconds=retry_delay(update.attempts))
    update.save(update_fields=["updated_at", "last_error", "status", "claimed_by", "retry_at"])
    if not final:
        return []
    # The row's error can be corrected or erased; the log and the audit trail cannot, so they
    # never quote the customer's address.
    error = without_addresses(update.last_error)
    logger.warning("customer update %s failed after %s attempt(s): %s", update.pk, update.attempts, error)
    return [
        {
            "action": AuditAction.EMAIL_FAILED,
            "target": update,
            "incident_id": update.incident_id,
            "customer_id": update.customer_pk,
            "error": error,
            "attempts": update.attempts,
        }
    ]
