"""Anchors: the chain head, copied every few minutes to an append-only sink outside the database.

A database owner can rewrite the whole audit table and recompute every hash, and the chain
would verify. They cannot also rewrite what was copied out earlier: `verify_audit` checks each
anchor's (seq, hash) against the chain. The default sink is a JSON Lines file
(settings.AUDIT_ANCHOR_PATH, under var/); in production point it at storage the database owner
cannot write: another host's mount, an object store with retention, a volume with `chattr +a`.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .models import AuditEntry


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str  # ISO 8601, when the anchor was taken


def anchor_path() -> Path:
    return Path(settings.AUDIT_ANCHOR_PATH)


def write_anchor(path: Path | None = None) -> Anchor | None:
    """Append the current chain head to the sink; None while the chain is empty."""
    head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None:
        return None
    anchor = Anchor(seq=head[0], hash=head[1], at=timezone.now().isoformat())
    path = path or anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"seq": anchor.seq, "hash": anchor.hash, "at": anchor.at}, separators=(",", ":")) + "\n"
    # O_APPEND: concurrent writers never interleave within a line this short.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor


def read_anchors(path: Path | None = None) -> Iterator[Anchor]:
    """Every anchor in the sink, oldest first. A line that does not parse is an error, not skipped."""
    path = path or anchor_path()
    if not path.exists():
        return
    with path.open(encoding="utf-8") as sink:
        for number, line in enumerate(sink, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                yield Anchor(seq=int(item["seq"]), hash=str(item["hash"]), at=str(item["at"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not an anchor line ({exc})") from exc
