"""What the playbook tells the customer: each email's context, built in one place for the preview
an agent reads and for the email the outbox sends, and the kernel's side of queueing one (the
first-update clock stops when the first real update is queued).

The outbox (notifications) stores, renders and delivers; it knows nothing of incidents' rules.
"""

from core.bidi import isolate_text
from notifications import outbox
from notifications.models import CustomerUpdate
from notifications.rendering import clean_header, render_update

from . import sla
from .models import Incident

# The reports an email's context carries, by template; the resolution email carries the
# post-incident report (selectors.post_incident_report), given by the caller.


def customer_context(incident: Incident) -> dict:
    """What every email about an incident starts with."""
    customer = incident.customer
    return {
        # One line (it opens every email), isolated: its direction cannot reorder the greeting.
        "customer_name": isolate_text(clean_header(customer.display_name)),
        "reference": incident.reference,
        "account_reference": customer.account_reference,
    }


def progress_context(incident: Incident, *, message: str) -> dict:
    return {**customer_context(incident), "message": message}


def resolution_context(
    incident: Incident, *, resolution_summary: str, measures_taken: str, advice_given: str, report: dict
) -> dict:
    """The final email: the resolution as the agent wrote it and the post-incident report."""
    return {
        **customer_context(incident),
        "resolution_summary": resolution_summary,
        "measures_taken": measures_taken,
        "advice_given": advice_given,
        **report,
    }


def preview(incident: Incident, template: str, context: dict) -> tuple[str, str]:
    """(subject, plain text) exactly as the customer would get them, in their language."""
    subject, text, _html = render_update(template, incident.customer.language, context)
    return subject, text


def notify_customer(
    incident: Incident, *, template: str, actor=None, key: str, recipient: str | None = None, **extra
) -> CustomerUpdate | None:
    """Queue one email to the incident's customer, sent after the surrounding transaction commits.

    `key` makes it idempotent: a second call with the same key queues nothing (None).
    `recipient` replaces the address of record (a code sent to the previous address). `extra`
    is the template's context beyond `customer_context`.
    """
    update = outbox.queue(
        incident.customer,
        incident=incident,
        template=template,
        recipient=recipient or incident.customer.email,
        actor=actor,
        key=key,
        context={**customer_context(incident), **extra},
    )
    if update is not None:
        sla.record_first_update(incident, template, update.created_at)
    return update
