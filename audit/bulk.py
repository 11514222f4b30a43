"""Appending many entries at once: the sequencer's batches, and demo and benchmark data.

`services.record()` appends one entry per call (AUDIT_SEQUENCER=inline) or leaves it pending for
the sequencer (background). `append_batch()` appends many the same way record() appends one:
under the chain lock the caller holds, continuing from the head it reads under that lock, with
seq, prev_hash and hash computed by `chain` exactly as record() does, so the result is a chain
`verify_audit` accepts. The rows go in with COPY (PostgreSQL) or one executemany (SQLite): the
model's own bulk_create stays refused, so application code cannot take this path by accident.
`append_generated()` is that for generated data (`seed_bulk`, `make bench`); the sequencer
(audit.sequencer) is the other caller.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from . import anchors, chain
from .models import PendingEntry, redact_free_text

COLUMNS = chain.STORED_FIELDS  # COPY writes the columns an entry is hashed and stored with


@dataclass
class GeneratedEntry:
    """What a generated entry says; seq and the hashes are filled in when it is appended."""

    created_at: datetime
    action: str
    actor_id: int | None = None
    actor_label: str = ""
    target_type: str = ""
    target_id: str = ""
    incident_id: int | None = None
    customer_id: int | None = None
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""
    data: dict = field(default_factory=dict)
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""


@transaction.atomic
def append_generated(entries: Iterable[GeneratedEntry]) -> int:
    """Chain `entries` after the current head, in the given order; returns the new head's seq."""
    chain.lock_chain()
    return append_batch(entries)


def append_batch(entries: Iterable[GeneratedEntry]) -> int:
    """Chain `entries` after the head, in order; the caller holds the chain lock in its transaction.
    Returns the new head's seq (the old one when `entries` is empty); anchored once it commits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_auditentry ORDER BY seq DESC LIMIT 1")
        head = cursor.fetchone()
    seq, prev_hash = head if head else (0, chain.GENESIS_HASH)
    rows = []
    for entry in entries:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev_hash
        # The stored JSON must hash the same after its round trip through the database.
        entry.data = json.loads(chain.canonical(entry.data))
        redact_free_text(entry)  # as record() does: no card number stored, what is hashed is stored
        entry.hash = prev_hash = chain.entry_hash(entry)
        rows.append(tuple(json.dumps(entry.data) if name == "data" else getattr(entry, name) for name in COLUMNS))
    if rows:
        _insert(rows)
        anchors.anchor_on_commit(seq, prev_hash)
    return seq


_PENDING_COLUMNS = tuple(f.column for f in PendingEntry._meta.concrete_fields if not f.primary_key)
_PENDING_SQL = "INSERT INTO audit_pendingentry ({}) VALUES ({})".format(  # noqa: S608 (constant column names)
    ", ".join(_PENDING_COLUMNS), ", ".join(["%s"] * len(_PENDING_COLUMNS))
)
_IP_FIELD = PendingEntry._meta.get_field("ip_address")


def insert_pending(entries: list[GeneratedEntry]) -> None:
    """Pending entries (AUDIT_SEQUENCER=background), inserted with no lock and no read.

    This is on the path of every request that appends, so it skips the ORM's query compiler
    (most of the cost of a save) and prepares the values as a save stores them: the free text
    already redacted (record()), the address spelled by the model field, times as the backend
    stores them, the JSON as text.
    """
    rows = [_pending_row(entry) for entry in entries]
    with connection.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(_PENDING_SQL, rows[0])
        else:
            cursor.executemany(_PENDING_SQL, rows)


def _pending_row(entry: GeneratedEntry) -> list:
    prepared = {
        "created_at": connection.ops.adapt_datetimefield_value(entry.created_at),
        "ip_address": _IP_FIELD.get_prep_value(entry.ip_address),
        "data": json.dumps(entry.data, ensure_ascii=False),
    }
    return [prepared[column] if column in prepared else getattr(entry, column) for column in _PENDING_COLUMNS]


def _insert(rows: list[tuple]) -> None:
    names = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY audit_auditentry ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            at = COLUMNS.index("created_at")
            adapt = connection.ops.adapt_datetimefield_value  # stored the way the ORM stores it
            rows = [(*row[:at], adapt(row[at]), *row[at + 1 :]) for row in rows]
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO audit_auditentry ({names}) VALUES ({placeholders})", rows)  # noqa: S608 (constant column names)
