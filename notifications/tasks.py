"""What runs on the workers, and how outbox rows reach them: Celery tasks (thin, idempotent
wrappers that take ids), `enqueue` (hand a row to the broker) and `sweep` (hand again the rows
the broker never got or a dead worker left)."""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import delivery
from .models import CustomerUpdate, UpdateStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def backoff(retries: int) -> float:
    """Seconds before retry number `retries + 1`: exponential, with jitter so that many emails
    failing together (a mail server restart) do not all come back in the same second.

    With the default base of 10 s: ~5-10, 10-20, 20-40, 40-80 s; all four well inside the
    sweeper's patience (SWEEP_QUEUED_AFTER).
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
    return sweep()


def enqueue(update_id: int) -> bool:
    """Hand the row to the workers; False if the broker is down (the row stays queued for the sweeper)."""
    try:
        send_customer_update.delay(update_id)
    except Exception:  # the broker being unreachable must not fail the agent's request
        logger.warning("customer update %s stays queued: broker unavailable", update_id, exc_info=True)
        return False
    return True


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
