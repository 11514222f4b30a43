"""Eight agents appending at the same moment on PostgreSQL never fork the chain."""

import threading

import pytest
from django.db import connection

from audit import chain
from audit.models import AuditAction, AuditEntry
from audit.services import record
from audit.verification import verify_chain

WRITERS, EACH = 8, 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain(postgres):
    barrier = threading.Barrier(WRITERS)
    errors = []

    def append(writer):
        try:
            barrier.wait()
            for n in range(EACH):
                record(AuditAction.INCIDENT_VIEWED, incident_id=writer, n=n)
        except Exception as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    rows = list(AuditEntry.objects.order_by("seq").values_list("seq", "prev_hash", "hash", "incident_id"))
    assert [seq for seq, *_ in rows] == list(range(1, WRITERS * EACH + 1))
    previous = chain.GENESIS_HASH
    for _, prev_hash, hash_, _ in rows:
        assert prev_hash == previous
        previous = hash_
    assert len({incident for *_, incident in rows}) == WRITERS  # the writers really interleaved
    assert verify_chain().ok
