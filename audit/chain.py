"""The hash chain: canonical serialization and the lock that keeps appends in one line."""

import base64
import datetime
import hashlib
import ipaddress
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


def lock_chain(conn=None) -> None:
    """Serialize appenders until the surrounding transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: transactions are IMMEDIATE
    (see settings), so the write lock is already held by whoever appends. `conn`: the connection
    to lock on (a migration's), the default one when None.
    """
    conn = conn or connection
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


# --- django-auditlog's field-change entries, covered by the chain --------------------------------
# Every auditlog LogEntry gets a chained `model.changed` entry naming its id and this digest of
# everything the row says (audit.registry). verify_audit recomputes the digest of every row.
# Every concrete column of LogEntry is listed (tests/audit/test_field_change_chain.py checks that a
# new auditlog column cannot slip in unnoticed); "model" is the label of the row's content type when
# it was written, so pointing a row at another model breaks it as surely as editing its changes (a
# model moved to another app keeps its content type under a new label: audit.renames).
LOGENTRY_FIELDS = (
    "id",
    "content_type_id",
    "object_pk",
    "object_id",
    "object_repr",
    "serialized_data",
    "action",
    "changes_text",
    "changes",
    "actor_id",
    "actor_email",
    "cid",
    "remote_addr",
    "remote_port",
    "timestamp",
    "additional_data",
)
_LOGENTRY_INTS = {"id", "content_type_id", "object_id", "action", "actor_id", "remote_port"}
_LOGENTRY_JSON = {"serialized_data", "changes", "additional_data"}


def _ip(value) -> str | None:
    # The database may spell an address differently from how it was given (inet, IPv6
    # compression): the packed bytes are the same either way.
    if value in (None, ""):
        return None
    try:
        return ipaddress.ip_address(str(value)).packed.hex()
    except ValueError:
        return str(value)


def logentry_fields(values: dict, model_label: str) -> dict:
    """A LogEntry's content in one canonical form, whether read from the instance just saved or
    from its row (ints stay ints, text stays text, JSON as it round-trips, times in UTC)."""
    fields = {"model": model_label}
    for name in LOGENTRY_FIELDS:
        value = values[name]
        if value is None:
            fields[name] = None
        elif name in _LOGENTRY_INTS:
            fields[name] = int(value)
        elif name in _LOGENTRY_JSON:
            fields[name] = json.loads(canonical(value))
        elif name == "timestamp":
            fields[name] = value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
        elif name == "remote_addr":
            fields[name] = _ip(value)
        else:
            fields[name] = str(value)
    return fields


def logentry_digest(values: dict, model_label: str) -> str:
    """SHA-256 of the LogEntry's canonical content, base64url without padding (43 characters:
    no long run of digits a redactor could mistake for a card number)."""
    digest = hashlib.sha256(canonical(logentry_fields(values, model_label))).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
