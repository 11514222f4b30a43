"""What Redis remembers for the outbox, independently of the database: "accepted" marks and leases.

An *accepted mark* is set the instant the mail server answers 250 to an email's DATA, before the
database hears of it, keyed by the row (its idempotency key, id and creation time, within this
database) and kept for MARK_TTL. Whoever would send a row again (a claim, the sweeper) asks first:
a row with a mark is recorded `sent`, never sent twice.

A *lease* says that a live worker holds the rows it claimed: a key with a short TTL that a thread
of the worker process renews every LEASE_RENEW seconds while the batch is in its hands. When the
key is gone the holder is provably dead (or has given the batch up), and the sweeper takes the rows
back at once. A missing key proves nothing while Redis itself has been up for less than LEASE_TTL
(a restarted Redis has forgotten every lease; live holders renew theirs within LEASE_RENEW).

The store is the Redis of OUTBOX_REDIS_URL, or the broker's when that is Redis; with neither (the
embedded default: eager tasks, no broker) there are no marks and no leases (`available()` is False)
and the sweeper falls back to its time limits.
"""

import contextlib
import hashlib
import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

import redis
from celery import current_app
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

MARK_TTL = timedelta(days=7)
LEASE_TTL = 6  # seconds
LEASE_RENEW = 1.5  # seconds

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


class StoreUnavailable(Exception):
    """Redis did not answer: nothing can be concluded from it just now."""


def _url() -> str:
    url = getattr(settings, "OUTBOX_REDIS_URL", "") or ""
    if not url:
        conf = current_app.conf
        url = conf.broker_write_url or conf.broker_url or ""
    return url if url.startswith(("redis://", "rediss://", "unix://")) else ""


def _client():
    url = _url()
    if not url:
        return None
    with _clients_lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return _clients[url]


def available() -> bool:
    """Whether a mark and lease store is configured (not whether it answers)."""
    return _client() is not None


def _mark_key(update) -> str:
    row = f"{connection.settings_dict['NAME']}|{update.pk}|{update.created_at.isoformat()}|{update.idempotency_key}"
    return "bulwark:outbox:accepted:" + hashlib.sha256(row.encode()).hexdigest()[:32]


def set_accepted(update) -> bool:
    """Mark `update` accepted by the mail server; False if the store is absent or did not answer."""
    client = _client()
    if client is None:
        return False
    try:
        client.set(_mark_key(update), "1", ex=MARK_TTL)
    except Exception:  # the database record that follows still counts; see deliver_batch
        logger.warning("customer update %s: accepted mark not stored (Redis unavailable)", update.pk)
        return False
    return True


def accepted(updates) -> set[int]:
    """The pks of `updates` that carry an accepted mark. Raises StoreUnavailable if Redis does not answer;
    an empty set when there is no store."""
    updates = list(updates)
    client = _client()
    if client is None or not updates:
        return set()
    try:
        values = client.mget([_mark_key(u) for u in updates])
    except Exception as exc:
        raise StoreUnavailable(str(exc)) from exc
    return {u.pk for u, value in zip(updates, values, strict=True) if value is not None}


# --- leases -------------------------------------------------------------------------------------
_held: set[str] = set()
_held_lock = threading.Lock()
_renewer: threading.Thread | None = None
_renewer_pid: int | None = None
_PREFIX = "bulwark:outbox:lease:"


def new_lease() -> str:
    """A name for one claim (worker process and batch): what `claimed_by` holds."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _renew(names) -> None:
    client = _client()
    if client is None or not names:
        return
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.set(_PREFIX + name, "1", ex=LEASE_TTL)
    pipe.execute()


def _renew_forever() -> None:
    stop = threading.Event()
    while not stop.wait(LEASE_RENEW):
        with _held_lock:
            names = list(_held)
        with contextlib.suppress(Exception):  # Redis down: renewed again as soon as it answers
            _renew(names)


def hold(name: str) -> bool:
    """Start holding lease `name` (set now, renewed in the background); False without a store."""
    global _renewer, _renewer_pid
    if _client() is None:
        return False
    with _held_lock:
        _held.add(name)
        if _renewer is None or _renewer_pid != os.getpid() or not _renewer.is_alive():
            _renewer = threading.Thread(target=_renew_forever, name="outbox-lease", daemon=True)
            _renewer.start()
            _renewer_pid = os.getpid()
    try:
        _renew([name])
    except Exception:
        logger.warning("outbox lease %s not stored yet (Redis unavailable)", name)
    return True


def release(name: str) -> None:
    """Stop holding lease `name` and drop it: the sweeper may take back whatever it still covers."""
    with _held_lock:
        _held.discard(name)
    client = _client()
    if client is not None:
        with contextlib.suppress(Exception):  # else it expires within LEASE_TTL
            client.delete(_PREFIX + name)


def dead(names) -> set[str]:
    """Those of `names` whose holder is provably gone. Raises StoreUnavailable if Redis does not
    answer, and proves nothing (empty set) while Redis has been up for less than LEASE_TTL."""
    names = sorted(set(names))
    client = _client()
    if client is None or not names:
        return set()
    try:
        if int(client.info("server")["uptime_in_seconds"]) <= LEASE_TTL:
            return set()
        alive = client.mget([_PREFIX + name for name in names])
    except Exception as exc:
        raise StoreUnavailable(str(exc)) from exc
    return {name for name, value in zip(names, alive, strict=True) if value is None}
