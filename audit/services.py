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
    item = {"action": action, "actor": actor, "target": target, "incident_id": incident_id, "customer_id": customer_id}
    [entry] = record_many([{**data, **item}])
    return entry


def record_many(entries: list[dict[str, Any]]) -> list[AuditEntry] | list[bulk.GeneratedEntry]:
    """Write several entries in one go, in the caller's transaction and in the order given. Each
    item holds record()'s arguments (`action`, optional `actor`, `target`, `incident_id`,
    `customer_id`; the rest is `data`). Inline: one lock of the chain, one read of its head, one
    INSERT; background: one round trip of pending rows."""
    if not entries:
        return []
    origin = context.current()
    contents = [_content(item, origin) for item in entries]
    if settings.AUDIT_SEQUENCER == "background":
        pending = []
        for content in contents:
            actor = content.pop("actor")
            entry = bulk.GeneratedEntry(actor_id=actor.pk if actor else None, **content)
            redact_free_text(entry)  # what the sequencer hashes is what is stored
            pending.append(entry)
        bulk.insert_pending(pending)
        return pending
    return _append(contents)


def _content(item: dict[str, Any], origin: context.RequestContext) -> dict[str, Any]:
    """What an entry says, from record()'s arguments and the request it is written in."""
    data = dict(item)
    action, actor, target = data.pop("action"), data.pop("actor", None), data.pop("target", None)
    known = getattr(actor, "pk", None) is not None
    return {
        "created_at": timezone.now(),
        "action": AuditAction(action),
        "actor": actor if known else None,
        "actor_label": actor.email if known else "",
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "incident_id": data.pop("incident_id", None),
        "customer_id": data.pop("customer_id", None),
        "ip_address": origin.ip_address,
        "user_agent": origin.user_agent,
        "request_id": origin.request_id,
        "data": _jsonable(data),
    }


@transaction.atomic
def _append(contents: list[dict[str, Any]]) -> list[AuditEntry]:
    chain.lock_chain()
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, chain.GENESIS_HASH)
    built = []
    for content in contents:
        entry = AuditEntry(seq=seq, prev_hash=prev_hash, **content)
        redact_free_text(entry)  # card numbers never stored: and what is hashed is what is stored
        entry.hash = chain.entry_hash(entry)
        built.append(entry)
        seq, prev_hash = seq + 1, entry.hash
    if len(built) == 1:
        built[0].save(force_insert=True)
    else:  # the manager refuses bulk_create to everyone else: only this function appends in bulk
        models.QuerySet(model=AuditEntry).bulk_create(built)
    anchors.anchor_on_commit(built[-1].seq, built[-1].hash)
    return built


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
