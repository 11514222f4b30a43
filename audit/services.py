"""Writing to the audit trail. Services call record(); nothing else writes audit entries."""

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from . import anchors, bulk, chain, context, exports, selectors
from .models import AuditAction, AuditEntry, redact_free_text


def record(
    action: AuditAction,
    *,
    actor=None,
    target: models.Model | None = None,
    incident_id: int | None = None,
    customer_id: int | None = None,
    **data: Any,
) -> AuditEntry | bulk.GeneratedEntry:
    """Write one entry, in the caller's transaction.

    AUDIT_SEQUENCER=inline (the default): appended to the chain at once, under the chain lock held
    until the caller's transaction ends; returns the entry. background: inserted pending, with no
    lock, and chained within a second by the sequencer (audit.sequencer), which is what lets
    appends scale out; returns what was written, with no seq yet (0).

    `data` must not hold secrets (codes, passwords) or unredacted personal data. Card numbers
    in any of its strings (and in the other free-text fields) are redacted before hashing.
    """
    origin = context.current()
    content = {
        "created_at": timezone.now(),
        "action": AuditAction(action),
        "actor": actor if getattr(actor, "pk", None) else None,
        "actor_label": actor.email if getattr(actor, "pk", None) else "",
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "incident_id": incident_id,
        "customer_id": customer_id,
        "ip_address": origin.ip_address,
        "user_agent": origin.user_agent,
        "request_id": origin.request_id,
        "data": _jsonable(data),
    }
    if settings.AUDIT_SEQUENCER == "background":
        actor = content.pop("actor")
        pending = bulk.GeneratedEntry(actor_id=actor.pk if actor else None, **content)
        redact_free_text(pending)  # what the sequencer hashes is what is stored
        bulk.insert_pending(pending)
        return pending
    return _append(content)


@transaction.atomic
def _append(content: dict) -> AuditEntry:
    chain.lock_chain()
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, chain.GENESIS_HASH)
    entry = AuditEntry(seq=seq, prev_hash=prev_hash, **content)
    redact_free_text(entry)  # card numbers never stored: and what is hashed is what is stored
    entry.hash = chain.entry_hash(entry)
    entry.save(force_insert=True)
    anchors.anchor_on_commit(entry.seq, entry.hash)
    return entry


def _jsonable(data: dict) -> dict:
    # Stored JSON must hash the same after a round trip through the database.
    return chain.json.loads(chain.canonical(data))


def export_entries(filters: dict, *, fmt: str, actor) -> Iterator[str]:
    """Record the export, then return the lines of the filtered entries in `fmt` (csv or jsonl).

    The entry is written before the first line leaves, so an export interrupted half-way is
    still on the record. The export stops at the head as it was before that entry: it contains
    what existed when it was asked for, and not its own record.
    """
    _content_type, render = exports.FORMATS[fmt]
    upto = selectors.head_seq()
    record(AuditAction.AUDIT_EXPORTED, actor=actor, format=fmt, filters=filters, upto_seq=upto)
    return render(selectors.iter_entries(filters, upto_seq=upto))
