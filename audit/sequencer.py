"""The sequencer: entries written by requests with no lock are chained here, in batches.

With AUDIT_SEQUENCER=background, `services.record()` only inserts a pending entry
(audit.PendingEntry): no chain lock, no read of the head, so appends from any number of web
processes do not wait on each other (the way Certificate Transparency logs split queueing from
sequencing). `chain_pending()` takes the pending entries in id order, under the chain lock,
appends them with `bulk.append_batch` and deletes them, all in one transaction: a crash at any
point rolls the whole batch back, so an entry is chained once or not yet, and the chain never
forks (the lock and the unique seq). Entries committed out of id order simply land in a later
batch. The head of each batch is anchored once it commits.

`run()` is the loop of `manage.py run_audit_sequencer`: on PostgreSQL it holds a session advisory
lock as its lease, so a second sequencer started for redundancy waits on standby and takes over
within a second of the first one's death. Beat also calls `chain_pending()` now and then (the
audit.chain_pending task), so entries are chained even with no sequencer running, only later.
"""

import logging
import time

from django.db import DatabaseError, connection, transaction

from . import bulk, chain
from .models import PendingEntry

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
_LEASE_KEY = 0x4255_4C53  # "BULS": the one running sequencer
_CONTENT = ("created_at", "action", "actor_id", "actor_label", "target_type", "target_id", "incident_id")
_CONTENT += ("customer_id", "ip_address", "user_agent", "request_id", "data")


def chain_pending(limit: int = BATCH_SIZE) -> int:
    """Chain up to `limit` pending entries, oldest id first, in one transaction; returns how many."""
    with transaction.atomic():
        chain.lock_chain()
        rows = list(PendingEntry.objects.order_by("id").values_list("id", *_CONTENT)[:limit])
        if not rows:
            return 0
        bulk.append_batch(bulk.GeneratedEntry(**dict(zip(_CONTENT, row[1:], strict=True))) for row in rows)
        PendingEntry.objects.filter(id__in=[row[0] for row in rows])._raw_delete(connection.alias)
    return len(rows)


def chain_all() -> int:
    """Chain every pending entry, batch after batch; returns how many."""
    total = 0
    while chained := chain_pending():
        total += chained
    return total


def _take_lease() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: one machine, one writer at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LEASE_KEY])
        return bool(cursor.fetchone()[0])


def run(*, interval: float = 0.2, stop=lambda: False) -> None:
    """Chain pending entries until `stop()` says so: at once while there are more, else every
    `interval` seconds. Database trouble (an outage, a restart) is waited out, never fatal."""
    leased = False
    while not stop():
        try:
            if not leased:
                leased = _take_lease()
                if not leased:
                    time.sleep(1.0)  # another sequencer runs: stand by
                    continue
                logger.info("audit sequencer running")
            if chain_pending() < BATCH_SIZE:
                time.sleep(interval)
        except DatabaseError:
            logger.warning("audit sequencer: database unavailable, retrying", exc_info=True)
            connection.close()  # the lease went with the session: take it again
            leased = False
            time.sleep(1.0)
