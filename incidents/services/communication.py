"""Step 5 and throughout: progress updates and messages to the customer, notes, and sending a
failed email again."""

import hashlib

from django.db import transaction

from audit.models import AuditAction
from core.redaction import redacted
from notifications import outbox
from notifications.models import CustomerUpdate

from .. import playbook
from ..emails import notify_customer, progress_context
from ..models import (
    Incident,
    Note,
    NoteVisibility,
)
from ..playbook import PlaybookError
from .base import (
    lock,
    record,
    save,
)

# --- Step 5: communicate, and notes throughout ----------------------------------------------------


@transaction.atomic
def send_progress_update(incident: Incident, *, message: str, actor):
    """Email the customer a progress update; the same text twice (a double-click) goes out once."""
    incident = lock(incident)
    playbook.ensure_open(incident)
    if not message.strip():
        raise PlaybookError("Write the progress update for the customer.")
    message = redacted(message)
    digest = hashlib.sha256(" ".join(message.split()).encode()).hexdigest()[:16]
    update = notify_customer(
        incident, template="progress", actor=actor, key=f"{incident.pk}:progress:{digest}",
        **progress_context(incident, message=message),
    )  # fmt: skip
    if update is None:
        raise PlaybookError("This exact update was already sent to the customer.")
    save(incident, actor)
    return update


@transaction.atomic
def add_note(incident: Incident, *, body: str, visibility: str, actor) -> Note:
    """An internal note, or a message to the customer (which is also emailed)."""
    incident = lock(incident)
    if not body.strip():
        raise PlaybookError("The note is empty.")
    note = Note.objects.create(incident=incident, author=actor, visibility=visibility, body=body)
    save(incident, actor)
    record(AuditAction.NOTE_ADDED, incident, actor, target=note, visibility=visibility)
    if visibility == NoteVisibility.CUSTOMER:
        playbook.ensure_open(incident)
        notify_customer(
            incident, template="message", actor=actor, key=f"{incident.pk}:note:{note.pk}", message=note.body
        )
    return note


# --- Customer emails ------------------------------------------------------------------------------


@transaction.atomic
def retry_customer_update(update: CustomerUpdate, *, actor) -> CustomerUpdate:
    """Queue a failed email of an incident again, once the agent has dealt with the cause.

    The content stays exactly what was rendered (the customer gets what the panel shows); the
    recipient follows the customer's current address, so a corrected address is used.
    """
    incident = update.incident
    if incident is None:
        raise PlaybookError("Only an incident's email can be sent again from the desk.")
    try:
        return outbox.requeue(update, address_of_record=incident.customer.email, actor=actor)
    except outbox.NotRequeued as exc:
        raise PlaybookError(str(exc)) from exc
