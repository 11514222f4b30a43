"""Appending many generated entries at once: for demo and benchmark data only.

`services.record()` appends one entry per call, inside the caller's transaction. Loading a
million generated entries that way takes hours, so `append_generated()` appends a batch the same
way record() appends one: under the same chain lock, continuing from the head it reads under that
lock, with seq, prev_hash and hash computed by `chain` exactly as record() does. The result is a
chain `verify_audit` accepts. The rows go in with COPY (PostgreSQL) or one executemany (SQLite):
the model's own bulk_create stays refused, so application code cannot take this path by accident.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from . import anchors, chain
from .models import redact_free_text

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
