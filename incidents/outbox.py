"""Customer emails through the outbox: a CustomerUpdate row is written in the transaction that
decides the customer must hear, and a Celery task sends it after commit.

Content is rendered when the row is written, so the incident shows exactly what the customer
gets; the task sends what is stored.
"""

import logging
import re

from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from audit import services as audit
from audit.models import AuditAction

from .models import CustomerUpdate, Incident, Language

logger = logging.getLogger(__name__)

TEMPLATES = {
    "acknowledgement",
    "verification_code",
    "securing_advice",
    "escalated",
    "progress",
    "message",
    "resolution",
}
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
    """(subject, plain text, HTML) in the customer's language, falling back to English."""
    lang = email_language(template, language)
    context = {**context, "lang": lang, "dir": "rtl" if lang in RTL_LANGUAGES else "ltr"}
    with translation.override(lang):
        subject = render_to_string(f"emails/{lang}/{template}.subject.txt", context)
        text = render_to_string(f"emails/{lang}/{template}.txt", context)
        html = render_to_string(f"emails/{lang}/{template}.html", context)
    return clean_header(subject), text, html


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
        "customer_name": customer.display_name,
        "reference": incident.reference,
        "account_reference": customer.account_reference,
    }


def notify_customer(
    incident: Incident, *, template: str, actor=None, key: str | None = None, **extra
) -> CustomerUpdate | None:
    """Queue one email to the incident's customer, sent after the surrounding transaction commits.

    `key` makes the notification idempotent: a second call with the same key queues nothing.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown customer email template {template!r}")
    key = key or f"{incident.pk}:{template}:{timezone.now().timestamp()}"
    if CustomerUpdate.objects.filter(idempotency_key=key).exists():
        return None
    customer = incident.customer
    context = {**base_context(incident), **extra}
    subject, text, html = render_update(template, customer.language, context)
    update = CustomerUpdate.objects.create(
        incident=incident,
        template=template,
        language=customer.language,
        recipient=customer.email,
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
        incident_id=incident.pk,
        customer_id=customer.pk,
        template=template,
        language=customer.language,
    )
    transaction.on_commit(lambda: enqueue(update.pk))
    return update


def enqueue(update_id: int) -> None:
    """Hand the row to the workers. If the broker is down the row stays queued for the sweeper."""
    from .tasks import send_customer_update

    try:
        send_customer_update.delay(update_id)
    except Exception:  # the broker being unreachable must not fail the agent's request
        logger.warning("customer update %s stays queued: broker unavailable", update_id, exc_info=True)


def mask_secrets(text: str) -> str:
    return _CODE.sub("••••••", text)


class DeliveryError(Exception):
    """Sending failed in a way worth retrying."""


def deliver(update_id: int, *, final_attempt: bool = False) -> str:
    """Send one queued update exactly once; returns the resulting status.

    The row is locked for the duration, so two workers holding the same task (a redelivery)
    cannot both send it.
    """
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

    from .models import UpdateStatus

    with transaction.atomic():
        update = CustomerUpdate.objects.select_for_update().select_related("incident").get(pk=update_id)
        if update.status in (UpdateStatus.SENT, UpdateStatus.FAILED):
            return update.status
        message_id = update.message_id or f"<{update.idempotency_key.replace(':', '.')}@bulwark>"
        message = EmailMultiAlternatives(
            subject=update.subject,
            body=update.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[update.recipient],
            headers={"Message-ID": message_id, "X-Bulwark-Update": update.idempotency_key},
        )
        message.attach_alternative(update.body_html, "text/html")
        update.attempts += 1
        update.message_id = message_id
        update.updated_at = timezone.now()
        try:
            message.send()
        except Exception as exc:
            update.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
            if final_attempt:
                update.status = UpdateStatus.FAILED
                audit.record(
                    AuditAction.EMAIL_FAILED,
                    target=update,
                    incident_id=update.incident_id,
                    customer_id=update.incident.customer_id,
                    error=update.last_error,
                    attempts=update.attempts,
                )
            update.save(update_fields=["attempts", "message_id", "updated_at", "last_error", "status"])
            if final_attempt:
                return update.status
            raise DeliveryError(update.last_error) from exc
        update.status = UpdateStatus.SENT
        update.sent_at = update.updated_at
        update.last_error = ""
        fields = ["attempts", "message_id", "updated_at", "last_error", "status", "sent_at"]
        if update.template in SECRET_TEMPLATES:
            update.body_text, update.body_html = mask_secrets(update.body_text), mask_secrets(update.body_html)
            fields += ["body_text", "body_html"]
        update.save(update_fields=fields)
        audit.record(
            AuditAction.EMAIL_SENT,
            target=update,
            incident_id=update.incident_id,
            customer_id=update.incident.customer_id,
            message_id=message_id,
            attempts=update.attempts,
        )
        return update.status
