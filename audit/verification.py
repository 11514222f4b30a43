"""Walking the chain: recompute every hash, check every link and every anchor, and every
django-auditlog field-change entry against the digest its chained `model.changed` entry holds.

Reads only. The walk goes in seq order in keyset batches and stops at the head it saw when it
started, so appends made meanwhile neither extend nor disturb it. The field-change rows are read
alongside in id order, in batches too: a chained entry and its row are written in the same
transaction, so both orders agree but for concurrent writers and only a few rows wait for their
match at any time.

A chained entry names the model of its row by the label the row's content type had when it was
written, and the digest covers that label. A model moved to another app keeps its content type,
renamed in place (audit.renames): its older entries name the former label, which is accepted for
that content type up to the chain head at the move (audit.FormerLabel), and nowhere else.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Min
from django.utils import timezone

from . import chain
from .anchors import Anchor
from .models import AuditAction, AuditEntry, FormerLabel, PendingEntry

LOGENTRY_TARGET = "auditlog.logentry"


@dataclass
class Verification:
    checked: int = 0
    seconds: float = 0.0
    head_seq: int = 0
    head_hash: str = chain.GENESIS_HASH
    anchors_checked: int = 0
    newest_anchor_seq: int = 0
    field_changes_checked: int = 0
    pending: int = 0  # entries written but not chained yet (AUDIT_SEQUENCER=background)
    oldest_pending_seconds: float = 0.0
    stalled: str = ""  # why the chain is not current although intact (an entry waited too long)
    broken_seq: int | None = None
    broken_logentry: int | None = None
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and self.broken_logentry is None and not self.stalled

    @property
    def per_second(self) -> float:
        return self.checked / self.seconds if self.seconds else 0.0


class _Broken(Exception):
    def __init__(self, reason: str, *, seq: int | None = None, logentry: int | None = None):
        super().__init__(reason)
        self.reason, self.seq, self.logentry = reason, seq, logentry


def _label(content_type_id: int) -> str:
    content_type = ContentType.objects.get_for_id(content_type_id)
    return f"{content_type.app_label}.{content_type.model}"


class _Labels:
    """Which model labels an entry may name for a content type: its current one, and a former one
    (the content type was renamed in place when its model moved apps) for entries up to the move.
    FormerLabel rows are few: read once per verification."""

    def __init__(self):
        self.former: dict[int, dict[str, int]] = {}  # content type id -> {former label: upto_seq}
        for content_type_id, label, upto_seq in FormerLabel.objects.values_list("content_type_id", "label", "upto_seq"):
            uptos = self.former.setdefault(content_type_id, {})
            uptos[label] = max(upto_seq, uptos.get(label, upto_seq))

    def possible(self, content_type_id: int) -> list[str]:
        return [_label(content_type_id), *self.former.get(content_type_id, ())]

    def never_had(self, content_type_id: int) -> str:
        return f"a label its content type ({_label(content_type_id)}) never had"

    def refused(self, content_type_id: int, label: str, seq: int) -> str:
        """Why entry #seq may not name `label` for a row of this content type ("" if it may)."""
        current = _label(content_type_id)
        if label == current:
            return ""
        upto = self.former.get(content_type_id, {}).get(label)
        if upto is None:
            return self.never_had(content_type_id)
        if seq > upto:
            return f"a label its content type ({current}) had only up to entry #{upto}"
        return ""


class _FieldChanges:
    """Matches auditlog rows (read in id order) with the digests named by the chain."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.labels = _Labels()
        # LogEntry id -> (seq, digest, model label) named by the chain, row not read yet
        self.named: dict[int, tuple[int, str, str]] = {}
        # LogEntry id -> (content type id, {label: digest of the row with it}), row read, not named
        # yet: one digest per label its content type has had, usually one.
        self.unnamed: dict[int, tuple[int, dict[str, str]]] = {}
        self.read_upto = 0  # rows with id <= this were read
        self.checked = 0

    def named_by(self, seq: int, data: dict) -> None:
        try:
            log_id, digest, label = int(data["logentry"]), str(data["digest"]), str(data["model"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _Broken("its model.changed data names no field-change entry", seq=seq) from exc
        if log_id in self.unnamed:
            content_type_id, digests = self.unnamed.pop(log_id)
            self._compare(log_id, seq, digest, label, content_type_id, digests.get(label))
        elif log_id <= self.read_upto or log_id in self.named:
            raise _Broken(
                f"it names field-change entry (auditlog) #{log_id}, which is missing (deleted) "
                "or named by another entry",
                seq=seq,
                logentry=log_id,
            )
        else:
            self.named[log_id] = (seq, digest, label)

    def _compare(
        self, log_id: int, seq: int, digest: str, label: str, content_type_id: int, actual: str | None
    ) -> None:
        """`actual`: the row's digest with `label`; None when the row was read first and `label` is
        none of those its content type has had, so no digest of the row with it was kept."""
        if actual is not None and digest != actual:
            raise _Broken(
                f"field-change entry (auditlog) #{log_id} does not match the digest entry #{seq} holds "
                "(the row was altered)",
                seq=seq,
                logentry=log_id,
            )
        refused = self.labels.refused(content_type_id, label, seq)
        if actual is None:
            refused = refused or self.labels.never_had(content_type_id)  # nothing vouches for the row
        if refused:
            raise _Broken(
                f"it names model {label} for field-change entry (auditlog) #{log_id}, {refused}",
                seq=seq,
                logentry=log_id,
            )
        self.checked += 1

    def read(self, upto_id: int | None = None) -> None:
        """Read the rows after the last one read, up to `upto_id` (every row when None)."""
        while True:
            rows = LogEntry.objects.filter(id__gt=self.read_upto)
            if upto_id is not None:
                rows = rows.filter(id__lte=upto_id)
            rows = list(rows.order_by("id").values(*chain.LOGENTRY_FIELDS)[: self.batch_size])
            if not rows:
                break
            for row in rows:
                log_id, content_type_id = row["id"], row["content_type_id"]
                if log_id in self.named:
                    seq, digest, label = self.named.pop(log_id)
                    actual = chain.logentry_digest(row, label)
                    self._compare(log_id, seq, digest, label, content_type_id, actual)
                else:
                    labels = self.labels.possible(content_type_id)
                    self.unnamed[log_id] = (
                        content_type_id,
                        {label: chain.logentry_digest(row, label) for label in labels},
                    )
                self.read_upto = log_id
        if upto_id is not None:
            self.read_upto = max(self.read_upto, upto_id)

    def finish(self, upto_seq: int) -> None:
        self.read()
        if self.named:
            log_id = min(self.named)
            raise _Broken(
                f"it names field-change entry (auditlog) #{log_id}, which is missing (deleted)",
                seq=self.named[log_id][0],
                logentry=log_id,
            )
        if self.unnamed:
            # Rows whose chained entry was appended after the walk's head are named there.
            later = AuditEntry.objects.filter(
                seq__gt=upto_seq, action=AuditAction.MODEL_CHANGED, target_type=LOGENTRY_TARGET
            ).values_list("seq", "data")
            for seq, data in later.iterator():
                log_id = int(data.get("logentry", 0))
                if log_id in self.unnamed:
                    label = str(data.get("model"))
                    content_type_id, digests = self.unnamed.pop(log_id)
                    self._compare(log_id, seq, str(data.get("digest")), label, content_type_id, digests.get(label))
        if self.unnamed:
            # Rows whose entry waits for the sequencer: named by a pending entry, checked the same way.
            waiting = PendingEntry.objects.filter(
                action=AuditAction.MODEL_CHANGED, target_type=LOGENTRY_TARGET
            ).values_list("data", flat=True)
            for data in waiting.iterator():
                log_id = int(data.get("logentry", 0))
                if log_id in self.unnamed:
                    label = str(data.get("model"))
                    content_type_id, digests = self.unnamed.pop(log_id)
                    self._compare(
                        log_id, upto_seq + 1, str(data.get("digest")), label, content_type_id, digests.get(label)
                    )
        if self.unnamed:
            log_id = min(self.unnamed)
            raise _Broken(
                f"field-change entry (auditlog) #{log_id} is not in the chain (written outside it)",
                logentry=log_id,
            )


def verify_chain(
    anchors: Iterable[Anchor] = (),
    *,
    batch_size: int = 5000,
    max_unanchored_age: timedelta | None = None,
    max_pending_age: timedelta | None = None,
    now: datetime | None = None,
) -> Verification:
    """Check the chain from seq 1 to the current head against itself, against `anchors`, and
    against every field-change row.

    With `max_unanchored_age`, entries after the newest anchor must all be younger than that:
    anchoring runs within seconds of every append, so an older unanchored entry means anchoring
    stopped (or its anchors were lost), and deletions of the newest entries could go unseen.
    With `max_pending_age`, no entry may have waited longer than that for the sequencer.
    """
    started = time.perf_counter()
    result = Verification()
    expected = {}
    for anchor in anchors:
        expected.setdefault(anchor.seq, []).append(anchor)
    result.newest_anchor_seq = max(expected, default=0)
    upto = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    changes = _FieldChanges(batch_size)
    prev_seq, prev_hash = 0, chain.GENESIS_HASH
    first_unanchored = None
    try:
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
                    raise _Broken(f"entry #{prev_seq + 1} is missing (the next entry is #{row.seq})", seq=prev_seq + 1)
                if row.prev_hash != prev_hash:
                    raise _Broken(f"its prev_hash does not match the hash of entry #{prev_seq}", seq=row.seq)
                if chain.entry_hash(row) != row.hash:
                    raise _Broken("its content does not match its hash (the entry was altered)", seq=row.seq)
                for anchor in expected.get(row.seq, ()):
                    result.anchors_checked += 1
                    if anchor.hash != row.hash:
                        raise _Broken(
                            f"its hash differs from the anchor written at {anchor.at} (the chain was rewritten)",
                            seq=row.seq,
                        )
                if row.action == AuditAction.MODEL_CHANGED and row.target_type == LOGENTRY_TARGET:
                    changes.named_by(row.seq, row.data)
                if row.seq > result.newest_anchor_seq and first_unanchored is None:
                    first_unanchored = row
                prev_seq, prev_hash = row.seq, row.hash
                result.checked += 1
            if changes.named:
                changes.read(upto_id=max(changes.named))
        if result.newest_anchor_seq > prev_seq:
            raise _Broken(
                f"the chain ends at #{prev_seq} but an anchor names entry #{result.newest_anchor_seq} "
                "(entries were cut from the end)",
                seq=prev_seq + 1,
            )
        changes.finish(upto)
        if max_unanchored_age is not None and first_unanchored is not None:
            age = (now or timezone.now()) - first_unanchored.created_at
            if age > max_unanchored_age:
                raise _Broken(
                    f"no anchor covers it or any later entry, and it was written {age.total_seconds():.0f} s ago "
                    f"(anchors are written within seconds; allowed {max_unanchored_age.total_seconds():.0f} s): "
                    "anchoring has stopped or the newest anchors are missing",
                    seq=first_unanchored.seq,
                )
    except _Broken as broken:
        result.broken_seq, result.broken_logentry, result.reason = broken.seq, broken.logentry, broken.reason
    result.field_changes_checked = changes.checked
    if result.ok:
        result.head_seq, result.head_hash = prev_seq, prev_hash
    _check_pending(result, max_pending_age, now or timezone.now())
    result.seconds = time.perf_counter() - started
    return result


def _check_pending(result: Verification, max_age: timedelta | None, now: datetime) -> None:
    """Count the entries waiting for the sequencer; one older than `max_age` means it stopped."""
    pending = PendingEntry.objects.aggregate(count=Count("id"), oldest=Min("created_at"))
    result.pending = pending["count"]
    if pending["oldest"] is None:
        return
    age = now - pending["oldest"]
    result.oldest_pending_seconds = max(age.total_seconds(), 0.0)
    if max_age is not None and age > max_age:
        result.stalled = (
            f"{result.pending} entries are not chained yet, the oldest written {age.total_seconds():.0f} s ago "
            f"(the sequencer chains within a second; allowed {max_age.total_seconds():.0f} s): "
            "is run_audit_sequencer running?"
        )
        result.reason = result.reason or result.stalled
