"""Customer emails through the outbox: a CustomerUpdate row is written in the transaction that
decides the customer must hear, and a Celery task sends it after commit (the rows one transaction
queues go to the workers together, as batches).

Content is rendered when the row is written, so the incident shows exactly what the customer
gets; the task sends what is stored (delivery.py). Whoever queues an email (the playbook kernel, an account
change) supplies the template's context: nothing here knows the playbook.
"""

from django.utils import timezone

from audit import services as audit
from audit.models import AuditAction

from . import delivery, tasks
from .catalog import ACCOUNT_TEMPLATES, FIXED_RECIPIENT_TEMPLATES, SECRET_TEMPLATES, TEMPLATES
from .models import CustomerUpdate, UpdateStatus
from .rendering import email_language, render_update


def queue(
    customer, *, incident=None, template: str, recipient: str, key: str, context: dict, actor=None
) -> CustomerUpdate | None:
    """Queue one email, sent after the surrounding transaction commits; None if `key` was queued before.

    `incident` is the incident the email is about (None for an email about the account itself);
    `key` makes queueing idempotent.
    """
    if template not in TEMPLATES or (incident is None) != (template in ACCOUNT_TEMPLATES):
        raise ValueError(f"unknown customer email template {template!r}")
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
        message_id=delivery.message_id_for(key),
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
    tasks.enqueue_on_commit(update.pk)
    return update


class NotRequeued(Exception):
    """The email cannot be queued again as it stands (the message says why, for the agent)."""


def requeue(update: CustomerUpdate, *, address_of_record: str, actor=None) -> CustomerUpdate:
    """Queue a failed email again: same content; the recipient follows `address_of_record` unless
    the email was written for a fixed address (the notice of a changed address goes to the old one).
    Call inside a transaction."""
    update = CustomerUpdate.objects.select_for_update(of=("self",)).select_related("incident").get(pk=update.pk)
    if update.template in SECRET_TEMPLATES:
        raise NotRequeued("A verification code is never sent twice: send the caller a new code instead.")
    if update.status != UpdateStatus.FAILED:
        raise NotRequeued(f"Only a failed email can be sent again; this one is {update.get_status_display().lower()}.")
    fields = ["status", "updated_at"]
    address_changed = update.template not in FIXED_RECIPIENT_TEMPLATES and update.recipient != address_of_record
    if address_changed:
        update.recipient = address_of_record
        fields.append("recipient")
    update.status = UpdateStatus.QUEUED
    update.updated_at = timezone.now()
    update.save(update_fields=fields)
    audit.record(
        AuditAction.EMAIL_QUEUED,
        actor=actor,
        target=update,
        incident_id=update.incident_id,
        customer_id=update.customer_pk,
        retry=True,
        attempts_before=update.attempts,
        address_changed=address_changed,
    )
    tasks.enqueue_on_commit(update.pk)
    return update
