"""Walking the chain: recompute every hash, check every link and every anchor.

Reads only. The walk goes in seq order in keyset batches (constant memory at any chain length)
and stops at the head it saw when it started, so appends made meanwhile neither extend nor
disturb it.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import chain
from .anchors import Anchor
from .models import AuditEntry


@dataclass
class Verification:
    checked: int = 0
    seconds: float = 0.0
    head_seq: int = 0
    head_hash: str = chain.GENESIS_HASH
    anchors_checked: int = 0
    broken_seq: int | None = None
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    @property
    def per_second(self) -> float:
        return self.checked / self.seconds if self.seconds else 0.0


def verify_chain(anchors: Iterable[Anchor] = (), *, batch_size: int = 5000) -> Verification:
    """Check the chain from seq 1 to the current head against itself and against `anchors`."""
    started = time.perf_counter()
    result = Verification()
    expected = {}
    for anchor in anchors:
        expected.setdefault(anchor.seq, []).append(anchor)
    upto = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    prev_seq, prev_hash = 0, chain.GENESIS_HASH

    def broken(seq: int, reason: str) -> Verification:
        result.broken_seq, result.reason = seq, reason
        result.seconds = time.perf_counter() - started
        return result

    while prev_seq < upto:
        rows = list(
            AuditEntry.objects.filter(seq__gt=prev_seq, seq__lte=upto)
            .order_by("seq")
            .values_list(*chain.STORED_FIELDS, named=True)[:batch_size]
        )
        if not rows:
            break
        for row in rows:
            if row.seq != prev_seq + 1:
                return broken(prev_seq + 1, f"entry #{prev_seq + 1} is missing (the next entry is #{row.seq})")
            if row.prev_hash != prev_hash:
                return broken(row.seq, f"its prev_hash does not match the hash of entry #{prev_seq}")
            if chain.entry_hash(row) != row.hash:
                return broken(row.seq, "its content does not match its hash (the entry was altered)")
            for anchor in expected.get(row.seq, ()):
                result.anchors_checked += 1
                if anchor.hash != row.hash:
                    return broken(
                        row.seq,
                        f"its hash differs from the anchor written at {anchor.at} (the chain was rewritten)",
                    )
            prev_seq, prev_hash = row.seq, row.hash
            result.checked += 1
    beyond = [seq for seq in expected if seq > prev_seq]
    if beyond:
        return broken(prev_seq + 1, f"the chain ends at #{prev_seq} but an anchor names entry #{min(beyond)}")
    result.head_seq, result.head_hash = prev_seq, prev_hash
    result.seconds = time.perf_counter() - started
    return result
