"""The hash chain: canonical serialization and the lock that keeps appends in one line."""

import hashlib
import json

from django.db import connection

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x4255_4C57  # "BULW": one chain, one lock


def canonical(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


HASHED_FIELDS = (
    "seq",
    "created_at",
    "action",
    "actor_id",
    "actor_label",
    "target_type",
    "target_id",
    "incident_id",
    "customer_id",
    "ip_address",
    "user_agent",
    "request_id",
    "data",
    "prev_hash",
)
# What an entry holds in all: the hashed fields and the hash itself.
STORED_FIELDS = (*HASHED_FIELDS, "hash")


def entry_fields(entry) -> dict:
    """Everything an entry says, as hashed. Changing any of these breaks the chain."""
    fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
    fields["created_at"] = entry.created_at.isoformat()
    return fields


def entry_hash(entry) -> str:
    return hashlib.sha256(canonical(entry_fields(entry))).hexdigest()


def lock_chain() -> None:
    """Serialize appenders until the surrounding transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: transactions are IMMEDIATE
    (see settings), so the write lock is already held by whoever appends.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
