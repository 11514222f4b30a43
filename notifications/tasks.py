"""What runs on the workers, and how outbox rows reach them: Celery tasks (thin, idempotent
wrappers that take ids), `enqueue` (hand rows to the broker, in batches) and `sweep` (hand again
the rows the broker lost or a dead worker left, resolving the latter by their accepted marks).

Beat runs the sweep every few seconds (CELERY_BEAT_SCHEDULE). A `sending` row comes back as soon
as its lease is gone (marks.py: its worker died or gave the batch up); a `queued` row once it has
waited SWEEP_QUEUED_AFTER past its due time (the broker lost its task: Redis restarted, a worker
was killed holding it unacknowledged).
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import delivery, marks
from .models import CustomerUpdate, UpdateStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = delivery.MAX_ATTEMPTS


def backoff(retries: int) -> float:
    """Seconds before retry number `retries + 1` (delivery.retry_delay): ~5-10, 10-20, 20-40, 40-80 s
    with the default base of 10 s."""
    return delivery.retry_delay(retries + 1)


@shared_task(name="notifications.send_customer_updates", bind=True, acks_late=True)
def send_customer_updates(self, update_ids: list[int]) -> dict:
    """Deliver a batch of outbox rows. Rows the mail server turned away for now are sent again by a
    task scheduled after their back-off (or by the sweeper, should the broker be down).

    Run eagerly (the embedded default, no broker), a failure is final at once: retrying in-process
    would hold the agent's request for the whole back-off, and the file backend used there has no
    transient failures. The agent sees the red badge and can retry from the incident page.
    """
    outcome = delivery.deliver_batch(update_ids, final_attempt=bool(self.request.is_eager))
    by_attempts: dict[int, list[int]] = {}
    for pk, attempts in outcome.retry.items():
        by_attempts.setdefault(attempts, []).append(pk)
    for attempts, pks in by_attempts.items():
        try:
            send_customer_updates.apply_async((pks,), countdown=delivery.retry_delay(attempts))
        except Exception:  # the rows carry retry_at: the sweeper sends them when the broker is back
            logger.warning("outbox: retry of %s customer update(s) left to the sweeper", len(pks))
    return {"sent": sum(1 for s in outcome.statuses.values() if s == UpdateStatus.SENT), "retry": len(outcome.retry)}


# Task names are what queued messages carry: a message queued before batches still runs.
@shared_task(name="incidents.tasks.send_customer_update", bind=True, acks_late=True)
def send_customer_update(self, update_id: int) -> dict:
    """One row: what tasks queued by an earlier version carry."""
    return send_customer_updates.run([update_id])


@shared_task(name="incidents.tasks.sweep_customer_updates", acks_late=True)
def sweep_customer_updates() -> int:
    """Periodic (celery beat): take back the rows the broker lost or a dead worker left."""
    return sweep()


BATCH_SIZE = 25  # rows per task: one claim and one record transaction each


def enqueue(update_ids) -> bool:
    """Hand rows (an id or a list) to the workers in batches; False if the broker is down (the
    rows stay queued for the sweeper)."""
    ids = [update_ids] if isinstance(update_ids, int) else list(update_ids)
    try:
        for start in range(0, len(ids), BATCH_SIZE):
            send_customer_updates.delay(ids[start : start + BATCH_SIZE])
    except Exception:  # the broker being unreachable must not fail the agent's request
        logger.warning("%s customer update(s) stay queued: broker unavailable", len(ids), exc_info=True)
        return False
    return True


class _Pending:
    """The rows a transaction has queued, enqueued together once it commits."""

    def __init__(self):
        self.ids: list[int] = []

    def flush(self):
        ids, self.ids = self.ids, []
        if ids:
            enqueue(ids)


def enqueue_on_commit(update_id: int) -> None:
    """Enqueue the row when the current transaction commits, in one batch with the other rows it
    queued: the callback registered last carries every id (those registered before it become
    no-ops), so the batch goes when that one runs. A savepoint rolled back after it drops the
    whole batch; the sweeper sends the committed rows of it SWEEP_QUEUED_AFTER later."""
    conn = transaction.get_connection()
    previous = getattr(conn, "_outbox_pending", None)
    pending = conn._outbox_pending = _Pending()
    if previous is not None and conn.in_atomic_block and any(f == previous.flush for _s, f, _r in conn.run_on_commit):
        pending.ids, previous.ids = previous.ids, []
    pending.ids.append(update_id)
    transaction.on_commit(pending.flush)


# A `queued` row this long past its due time has lost its task (rows waiting for a retry are due
# at their retry_at). Longer than a busy queue takes to drain; each sweep that enqueues a row
# touches it, so a row comes back at most once per this period.
SWEEP_QUEUED_AFTER = timedelta(seconds=15)
# Without a lease store (the embedded default), a row `sending` this long belongs to a worker
# that died (sends time out well within it).
SWEEP_SENDING_AFTER = timedelta(minutes=5)


def sweep(
    *, queued_after: timedelta = SWEEP_QUEUED_AFTER, sending_after: timedelta = SWEEP_SENDING_AFTER, limit: int = 5000
) -> int:
    """Re-enqueue rows left behind (broker down at commit, worker killed mid-send); returns how many.

    A `sending` row whose holder is gone is first resolved by its accepted mark: recorded `sent`
    if the mail server has it, else back to `queued`. Enqueuing a row twice is harmless (a claim
    takes only `queued` rows, under the row lock); `updated_at` is touched only when the broker
    took the task, so rows keep coming back every sweep until it does.
    """
    orphans = _take_back_orphans(sending_after)
    now = timezone.now()
    due = Q(retry_at__isnull=True) | Q(retry_at__lte=now - queued_after)
    stale = Q(status=UpdateStatus.QUEUED, updated_at__lte=now - queued_after) & due
    ids = orphans + list(
        CustomerUpdate.objects.filter(stale)
        .exclude(pk__in=orphans)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    enqueued = []
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        if not enqueue(batch):
            break
        enqueued += batch
    if enqueued:
        CustomerUpdate.objects.filter(pk__in=enqueued, status=UpdateStatus.QUEUED).update(updated_at=timezone.now())
        logger.info("outbox sweep re-enqueued %s customer update(s)", len(enqueued))
    return len(enqueued)


def _take_back_orphans(sending_after: timedelta) -> list[int]:
    """`sending` rows no live worker holds: `sent` if they carry an accepted mark, else `queued`
    again (their pks are returned, to be enqueued now)."""
    now = timezone.now()
    holders = set(
        CustomerUpdate.objects.filter(status=UpdateStatus.SENDING)
        .exclude(claimed_by="")
        .values_list("claimed_by", flat=True)
    )
    try:
        gone = marks.dead(holders)
    except marks.StoreUnavailable:
        gone = set()  # nothing can be proven now; the next sweep tries again
    orphaned = Q(status=UpdateStatus.SENDING) & (
        Q(claimed_by__in=gone) | Q(claimed_by="", updated_at__lte=now - sending_after)
    )
    with transaction.atomic():
        rows = list(
            CustomerUpdate.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("incident")
            .filter(orphaned)
        )
        if not rows:
            return []
        try:
            accepted = marks.accepted(rows)
        except marks.StoreUnavailable:
            return []  # cannot tell which the server has: leave them all for the next sweep
        delivery.record_sent([row for row in rows if row.pk in accepted])
        back = [row.pk for row in rows if row.pk not in accepted]
        CustomerUpdate.objects.filter(pk__in=back).update(
            status=UpdateStatus.QUEUED, claimed_by="", retry_at=None, updated_at=now
        )
    logger.info("outbox sweep: %s orphaned row(s) recorded sent by mark, %s queued again", len(accepted), len(back))
    return back
