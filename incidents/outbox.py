"""Customer emails through the outbox: a CustomerUpdate row is written in the transaction that
decides the customer must hear, and a Celery task sends it after commit.

Content is rendered when the row is written, so the incident shows exactly what the customer
gets; the task sends what is stored.
"""

import logging
import re
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from audit import services as audit
from audit.models import AuditAction
from core.bidi import balanced, isolate_text

from .models import CustomerUpdate, Incident, Language, UpdateStatus

logger = logging.getLogger(__name__)

TEMPLATES = {
    "acknowledgement",
    "verification_code",
    "securing_advice",
    "escalated",
    "progress",
    "message",
    "resolution",
    "email_changed",
}
# Emails about the account itself, written outside any incident (notify_account).
ACCOUNT_TEMPLATES = {"email_changed"}
# Emails that must reach the address they were written for, never the current address of record:
# the notice that the address changed goes to the old one.
FIXED_RECIPIENT_TEMPLATES = {"email_changed"}
# Emails whose body carries a one-time code: masked in storage once sent.
SECRET_TEMPLATES = {"verification_code"}
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


# Right-to-left scripts: the HTML layout sets dir="rtl" so mail clients lay the text out properly.
RTL_LANGUAGES = {Language.FA}


def email_language(template: str, language: str) -> str:
    """The language the email is written in: the customer's, or English when we have no translation.

    Only known language codes are looked up, so a stray value can never reach the template path.
    """
    if language in Language.values:
        try:
            get_template(f"emails/{language}/{template}.txt")
            return language
        except TemplateDoesNotExist:
            pass
    return Language.EN


def render_update(template: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, plain text, HTML) in the customer's language, falling back to English.

    The subject and the plain text are rendered with autoescape off (they are not HTML) and come
    back as ordinary strings, not "safe" markup: a page that shows them (the previews) escapes
    them like anything else a person typed. Only the HTML body is markup, escaped as it renders.
    """
    lang = email_language(template, language)
    # Typed text keeps its bidirectional controls, but whatever it opens it closes: an override
    # in a message cannot reorder the sentences of ours that follow it.
    context = {key: balanced(value) if isinstance(value, str) else value for key, value in context.items()}
    context = {**context, "lang": lang, "dir": "rtl" if lang in RTL_LANGUAGES else "ltr"}
    with translation.override(lang):
        subject = render_to_string(f"emails/{lang}/{template}.subject.txt", context)
        text = render_to_string(f"emails/{lang}/{template}.txt", context)
        html = render_to_string(f"emails/{lang}/{template}.html", context)
    return clean_header(subject), plain(text), html


def plain(text: str) -> str:
    """The same characters as a plain `str`: a template's output is marked safe for HTML, and
    plain text must never be trusted as markup."""
    return str.__str__(text)


def clean_header(value: str) -> str:
    """One line of printable text, safe as an email header value.

    Django refuses CR/LF in headers (BadHeaderError) rather than cleaning them; customer names and
    agent-typed text reach the subject, so control characters (CR, LF, NUL, Unicode line and
    paragraph separators ...) become spaces here, before anything is stored or sent.
    """
    printable = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(printable.split())[:200]


def base_context(incident: Incident) -> dict:
    customer = incident.customer
    return {
        # One line (it opens every email), isolated: its direction cannot reorder the greeting.
        "customer_name": isolate_text(clean_header(customer.display_name)),
        "reference": incident.reference,
        "account_reference": customer.account_reference,
    }


def notify_customer(
    incident: Incident, *, template: str, actor=None, key: str | None = None, recipient: str | None = None, **extra
) -> CustomerUpdate | None:
    """Queue one email to the incident's customer, sent after the surrounding transaction commits.

    `key` makes the notification idempotent: a second call with the same key queues nothing.
    `recipient` replaces the address of record (a code sent to the previous address).
    """
    if template not in TEMPLATES or template in ACCOUNT_TEMPLATES:
        raise ValueError(f"unknown customer email template {template!r}")
    key = key or f"{incident.pk}:{template}:{timezone.now().timestamp()}"
    update = _queue(
        incident.customer,
        incident=incident,
        template=template,
        recipient=recipient or incident.customer.email,
        actor=actor,
        key=key,
        context={**base_context(incident), **extra},
    )
    if update is not None:
        from .sla import record_first_update

        record_first_update(incident, template, update.created_at)
    return update


def notify_account(customer, *, template: str, recipient: str, key: str, actor=None, **extra) -> CustomerUpdate | None:
    """Queue one email about the customer's account itself (no incident), e.g. to the old address
    when the address of record changes."""
    if template not in ACCOUNT_TEMPLATES:
        raise ValueError(f"unknown account email template {template!r}")
    context = {
        "customer_name": clean_header(customer.display_name),
        "account_reference": customer.account_reference,
        **extra,
    }
    return _queue(
        customer, incident=None, template=template, recipient=recipient, actor=actor, key=key, context=context
    )


def _queue(customer, *, incident, template, recipient, actor, key, context) -> CustomerUpdate | None:
    if CustomerUpdate.objects.filter(idempotency_key=key).exists():
        return None
    language = email_language(template, customer.language)  # what the customer will read
    subject, text, html = render_update(template, language, context)
    update = CustomerUpdate.objects.create(
        incident=incident,
        customer=None if incident is not None else customer,
        template=template,
        language=language,
        recipient=recipient,
        subject=subject,
        body_text=text,
        body_html=html,
        context={k: v for k, v in context.items() if k != "code"},
        idempotency_key=key,
        created_by=actor,
    )
    audit.record(
        AuditAction.EMAIL_QUEUED,
        actor=actor,
        target=update,
        incident_id=incident.pk if incident is not None else None,
        customer_id=customer.pk,
        template=template,
        language=language,
    )
    transaction.on_commit(lambda: enqueue(update.pk))
    return update


def enqueue(update_id: int) -> bool:
    """Hand the row to the workers; False if the broker is down (the row stays queued for the sweeper)."""
    from .tasks import send_customer_update

    try:
        send_customer_update.delay(update_id)
    except Exception:  # the broker being unreachable must not fail the agent's request
        logger.warning("customer update %s stays queued: broker unavailable", update_id, exc_info=True)
        return False
    return True


def mask_secrets(text: str) -> str:
    return _CODE.sub("••••••", text)


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
    from django.conf import settings

    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "bulwark.localhost"
    local = re.sub(r"[^A-Za-z0-9._-]", ".", update.idempotency_key)
    return f"<{local}@{clean_header(domain).replace(' ', '')}>"


def _check_recipient(address: str) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        if clean_header(address) != address:
            raise ValidationError("control characters")
        validate_email(address)
    except ValidationError as exc:
        raise PermanentDeliveryError(f"Recipient address {address!r} is not a valid email address.") from exc


def _classify(exc: Exception) -> Exception:
    """Permanent or worth retrying? SMTP 5xx and refused recipients are permanent, the rest transient."""
    import smtplib

    from django.core.mail import BadHeaderError

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
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

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


# Rows older than this are re-enqueued by the sweeper. Longer than the whole retry schedule, so a
# row waiting for its next retry is not doubled; short enough that a broker outage costs minutes.
SWEEP_QUEUED_AFTER = timedelta(minutes=3)
# A row `sending` this long belongs to a worker that died (sends time out well within it).
SWEEP_SENDING_AFTER = timedelta(minutes=5)


def sweep(
    *, queued_after: timedelta = SWEEP_QUEUED_AFTER, sending_after: timedelta = SWEEP_SENDING_AFTER, limit: int = 500
) -> int:
    """Re-enqueue rows left behind (broker down at commit, worker killed mid-send); returns how many.

    Enqueuing a row twice is harmless (see `deliver`); `updated_at` is touched only when the broker
    took the task, so rows keep coming back every sweep until it does.
    """
    now = timezone.now()
    stale = Q(status=UpdateStatus.QUEUED, updated_at__lte=now - queued_after) | Q(
        status=UpdateStatus.SENDING, updated_at__lte=now - sending_after
    )
    ids = list(CustomerUpdate.objects.filter(stale).order_by("updated_at").values_list("pk", flat=True)[:limit])
    enqueued = [pk for pk in ids if enqueue(pk)]
    if enqueued:
        CustomerUpdate.objects.filter(pk__in=enqueued, status__in=[UpdateStatus.QUEUED, UpdateStatus.SENDING]).update(
            updated_at=timezone.now()
        )
        logger.info("outbox sweep re-enqueued %s customer update(s)", len(enqueued))
    return len(enqueued)
