"""The hash chain: canonical serialization and the lock that keeps appends in one line."""

import hashlib
import json

from django.db import connection

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x4255_4C57  # "BULW": one chain, one lock


def canonical(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def entry_fields(entry) -> dict:
    """Everything an entry says, as hashed. Changing any of these breaks the chain."""
    return {
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(),
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "incident_id": entry.incident_id,
        "customer_id": entry.customer_id,
        "ip_address": entry.ip_address,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
    }


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
