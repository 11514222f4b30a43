"""Anchors: the chain head, copied to an append-only sink outside the database.

A database owner can rewrite the whole audit table and recompute every hash, and the chain
would verify. They cannot also rewrite what was copied out earlier: `verify_audit` checks each
anchor's (seq, hash) against the chain, so entries cut from the end of the chain after they were
anchored are missed by name. The default sink is a JSON Lines file (settings.AUDIT_ANCHOR_PATH,
under var/); in production point it at storage the database owner cannot write: another host's
mount, an object store with retention, a volume with `chattr +a`.

Who anchors, in every configuration (`make run` included):

- every process that appends (web processes, Celery workers, management commands) anchors the
  entries it committed: `anchor_on_commit()` hands (seq, hash) to this process's `Anchorer`
  once the transaction commits. The request only records the newest pair and wakes a daemon
  thread (a few microseconds, no file I/O); the thread appends one line, fsyncs, and then
  waits AUDIT_ANCHOR_INTERVAL_SECONDS (1 s) before its next write, coalescing whatever committed
  meanwhile into one line. So a process writes at most one line per interval, and an entry is
  anchored within about one interval of its commit. At exit the pending pair is written at once.
- with a broker, Celery beat also anchors the head read from the database every 30 s
  (audit.tasks.anchor_chain_head), which covers entries of a process that died before its
  thread wrote.

Several processes append to the same file: each line is one O_APPEND write of under 100 bytes,
which POSIX appends whole, so lines never interleave (on a local filesystem; not over NFS).
"""

import atexit
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import AuditEntry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str  # ISO 8601, when the anchor was taken


def anchor_path() -> Path:
    return Path(settings.AUDIT_ANCHOR_PATH)


def _append(path: Path, seq: int, hash_: str) -> Anchor:
    anchor = Anchor(seq=seq, hash=hash_, at=timezone.now().isoformat())
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


def write_anchor(path: Path | None = None) -> Anchor | None:
    """Append the current chain head, read from the database, to the sink; None while the chain is empty."""
    head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None:
        return None
    return _append(path or anchor_path(), head[0], head[1])


class Anchorer:
    """This process's anchor writer: the newest committed (seq, hash) per sink, written by a
    daemon thread at most once per `interval` seconds."""

    def __init__(self, interval: float | None = None):
        self._interval = interval
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush)

    def _reset(self) -> None:
        # In a forked child: the parent writes what it had pending; the child starts afresh.
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._writing = threading.Lock()  # flush() at exit waits for a line the thread is writing
        self._pending: dict[Path, tuple[int, str]] = {}
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        return self._interval if self._interval is not None else settings.AUDIT_ANCHOR_INTERVAL_SECONDS

    def committed(self, seq: int, hash_: str, path: Path) -> None:
        """Called after a commit (request path): remember the pair and wake the writer."""
        with self._lock:
            current = self._pending.get(path)
            if current is None or seq > current[0]:
                self._pending[path] = (seq, hash_)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-anchors", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _take(self) -> dict[Path, tuple[int, str]]:
        with self._lock:
            pending, self._pending = self._pending, {}
            return pending

    def _write(self, pending: dict[Path, tuple[int, str]]) -> None:
        for path, (seq, hash_) in pending.items():
            try:
                _append(path, seq, hash_)
            except OSError:
                # verify_audit will report the entries as never anchored; the request goes on.
                logger.exception("Could not append the audit anchor #%s to %s", seq, path)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._wake.wait()
            with self._writing:
                self._write(self._take())
            time.sleep(self.interval)  # whatever commits meanwhile goes into the next line

    def flush(self) -> None:
        """Write what is pending now, in the calling thread (at exit)."""
        with self._writing:
            self._write(self._take())


_anchorer = Anchorer()


def anchor_on_commit(seq: int, hash_: str) -> None:
    """Anchor entry `seq` (hash `hash_`) once the current transaction commits; nothing if it rolls back."""
    transaction.on_commit(partial(_anchorer.committed, seq, hash_, anchor_path()), robust=True)


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
