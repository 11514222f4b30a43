"""Writing to the audit trail. Services call record(); nothing else writes audit entries."""

from collections.abc import Iterator
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from . import anchors, chain, context, exports, selectors
from .models import AuditAction, AuditEntry, redact_free_text


@transaction.atomic
def record(
    action: AuditAction,
    *,
    actor=None,
    target: models.Model | None = None,
    incident_id: int | None = None,
    customer_id: int | None = None,
    **data: Any,
) -> AuditEntry:
    """Append one entry to the chain, in the caller's transaction.

    `data` must not hold secrets (codes, passwords) or unredacted personal data. Card numbers
    in any of its strings (and in the other free-text fields) are redacted before hashing.
    """
    [entry] = record_many(
        [
            {
                "action": action,
                "actor": actor,
                "target": target,
                "incident_id": incident_id,
                "customer_id": customer_id,
                **data,
            }
        ]
    )
    return entry


@transaction.atomic
def record_many(entries: list[dict[str, Any]]) -> list[AuditEntry]:
    """Append several entries in one go, in the caller's transaction and in the order given: one
    lock of the chain, one read of its head, one INSERT. Each item holds record()'s arguments
    (`action`, optional `actor`, `target`, `incident_id`, `customer_id`; the rest is `data`).
    """
    if not entries:
        return []
    origin = context.current()
    chain.lock_chain()
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, chain.GENESIS_HASH)
    built = []
    for item in entries:
        data = dict(item)
        action, actor, target = data.pop("action"), data.pop("actor", None), data.pop("target", None)
        entry = AuditEntry(
            seq=seq,
            created_at=timezone.now(),
            action=AuditAction(action),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=actor.email if getattr(actor, "pk", None) else "",
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            incident_id=data.pop("incident_id", None),
            customer_id=data.pop("customer_id", None),
            ip_address=origin.ip_address,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
            data=_jsonable(data),
            prev_hash=prev_hash,
        )
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
