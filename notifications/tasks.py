"""Celery tasks: thin, idempotent wrappers that take ids."""

import random

from celery import shared_task
from django.conf import settings

from . import delivery

MAX_ATTEMPTS = 5


def backoff(retries: int) -> float:
    """Seconds before retry number `retries + 1`: exponential, with jitter so that many emails
    failing together (a mail server restart) do not all come back in the same second.

    With the default base of 10 s: ~5-10, 10-20, 20-40, 40-80 s; all four well inside the
    sweeper's patience (outbox.SWEEP_QUEUED_AFTER).
    """
    delay = settings.EMAIL_RETRY_BASE_SECONDS * 2**retries
    return delay / 2 + random.uniform(0, delay / 2)


# Task names are what queued messages carry: they stay as first registered (in `incidents`).
@shared_task(name="incidents.tasks.send_customer_update", bind=True, max_retries=MAX_ATTEMPTS - 1, acks_late=True)
def send_customer_update(self, update_id: int) -> str:
    """Deliver one outbox row; SMTP/network trouble retries with back-off, then the row is `failed`.

    Run eagerly (the embedded default, no broker), a failure is final at once: retrying in-process
    would hold the agent's request for the whole back-off, and the file backend used there has no
    transient failures. The agent sees the red badge and can retry from the incident page.
    """
    final = self.request.retries >= self.max_retries or bool(self.request.is_eager)
    try:
        return delivery.deliver(update_id, final_attempt=final)
    except delivery.DeliveryError as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="incidents.tasks.sweep_customer_updates", acks_late=True)
def sweep_customer_updates() -> int:
    """Periodic (celery beat): re-enqueue outbox rows the broker never got or a dead worker left."""
    from . import outbox  # outbox imports this module to enqueue; the sweep is looked up when it runs

    return outbox.sweep()

