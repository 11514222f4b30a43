"""Customer emails on the real stack: PostgreSQL, a Redis broker, a real Celery worker process and
an aiosmtpd SMTP server in this process that collects what arrives.

The SMTP server counts deliveries by the X-Bulwark-Update header (the outbox row's idempotency
key), which is what "exactly once" is measured by. Every wait polls with a deadline.
"""

import asyncio
import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.urls import reverse

from incidents import emails, services
from notifications import tasks
from notifications.models import CustomerUpdate
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CELERY = Path(sys.executable).with_name("celery")
DEADLINE = 60  # seconds any one wait may take before the test fails


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float = DEADLINE, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Inbox:
    """An SMTP server's handler that keeps every accepted message, with knobs for faults."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.envelopes: list[list[str]] = []
        self.data_attempts: Counter = Counter()
        self.transient_failures = 0  # answer 451 to the first N attempts of each message
        self.hold_after: int | None = None  # keep the Nth accepted message's 250 back until released
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@reject.example"):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        key = message["X-Bulwark-Update"]
        with self._lock:
            self.data_attempts[key] += 1
            if self.data_attempts[key] <= self.transient_failures:
                return "451 4.3.0 Mailbox busy, try again later"
            self.messages.append(message)
            self.envelopes.append(list(envelope.rcpt_tos))
            hold = self.hold_after is not None and len(self.messages) == self.hold_after
        if hold:
            # The message is ours (queued, as a real server would have it) but the client has not
            # heard "250" yet: the window in which a dying worker cannot record the send.
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, DEADLINE)
        return "250 2.0.0 Message accepted for delivery"

    def keys(self) -> Counter:
        return Counter(m["X-Bulwark-Update"] for m in self.messages)


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    inbox.release.set()
    controller.stop()


def _use_broker(url: str | None) -> None:
    """Point this process's Celery producer at `url`, None for the configured broker.

    The write URL is the one setting that beats the CELERY_BROKER_URL environment variable, and
    the connection pools cache the old connection, so both are reset.
    """
    from config.celery import app

    app.conf.broker_write_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(postgres, redis_broker):
    """A real broker for this test: Redis, emptied first; tasks are no longer run in-process."""
    import redis

    from config.celery import app

    redis.Redis.from_url(redis_broker).flushdb()
    previous, app.conf.task_always_eager = app.conf.task_always_eager, False
    _use_broker(None)
    yield redis_broker
    app.conf.task_always_eager = previous
    _use_broker(None)
    redis.Redis.from_url(redis_broker).flushdb()


class Worker:
    """`celery worker` as a child process, against the test database."""

    def __init__(self, broker_url: str, smtp_url: str, log: Path, pool: str = "solo"):
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_URL": smtp_url,
            "EMAIL_RETRY_BASE_SECONDS": "0.2",
            "CONN_MAX_AGE": "0",
            "LOG_LEVEL": "WARNING",
        }
        self.args = [str(CELERY), "-A", "config", "worker", f"--pool={pool}", "--without-gossip", "--without-mingle"]
        if pool == "threads":
            self.args.append("--concurrency=4")
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [*self.args, "--loglevel=WARNING"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(broker, smtp, tmp_path):
    started: list[Worker] = []

    def start(*, broker_url: str = broker, pool: str = "solo") -> Worker:
        started.append(Worker(broker_url, smtp.url, tmp_path / "worker.log", pool).start())
        return started[-1]

    yield start
    for each in started:
        each.stop()
    # A dead worker's database sessions end a moment after the process: wait, so that the flush
    # after this test and the final DROP DATABASE do not meet them.
    with connection.cursor() as cursor:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        wait_for(lambda: cursor.execute(sql) or cursor.fetchone()[0] == 0, timeout=15, what="worker sessions to end")


def _counts(**filters) -> Counter:
    return Counter(CustomerUpdate.objects.filter(**filters).values_list("status", flat=True))


def _queue_many(incident, n: int, prefix: str) -> list[int]:
    """As agents would: each update written and enqueued by its own committed transaction."""
    ids = []
    for i in range(n):
        with transaction.atomic():
            update = emails.notify_customer(incident, template="message", key=f"{prefix}:{i}", message=f"Update {i}")
        ids.append(update.pk)
    return ids


@pytest.fixture
def incident(tier1):
    customer = CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", language="nb")
    return services.open_incident(customer=customer, channel="phone", summary="Payout changed", severity=2, actor=tier1)


def test_a_200_updates_are_each_delivered_exactly_once(worker, smtp, incident):
    """Every row is also enqueued a second time, as a broker redelivery or the sweeper would: the
    row lock and status check keep the second task from sending, with four threads racing."""
    ids = _queue_many(incident, 200, "bulk")
    for pk in ids:
        tasks.enqueue(pk)
    worker(pool="threads")
    wait_for(lambda: _counts()["sent"] == 201, what="201 emails sent")
    keys = smtp.keys()
    assert len(keys) == 201 and set(keys.values()) == {1}
    assert len({m["Message-ID"] for m in smtp.messages}) == 201
    assert set(CustomerUpdate.objects.values_list("attempts", flat=True)) == {1}
    assert all(envelope == ["kari@example.org"] for envelope in smtp.envelopes)


def test_b_two_451_answers_then_delivery_with_attempts_recorded(worker, smtp, incident):
    smtp.transient_failures = 2
    ids = _queue_many(incident, 10, "busy")
    worker()
    wait_for(lambda: _counts()["sent"] == 11, what="11 emails sent after retries")
    assert set(smtp.data_attempts.values()) == {3} and set(smtp.keys().values()) == {1}
    rows = CustomerUpdate.objects.filter(pk__in=ids)
    assert {(row.status, row.attempts, row.last_error) for row in rows} == {("sent", 3, "")}


def test_c_broker_outage_loses_nothing(worker, smtp, tier1, client, verified_client, tmp_path):
    """Agents keep working while the broker is down; the sweeper hands the rows over once it is back."""
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    _use_broker(url)  # nothing listens there yet: the broker is down
    customer = CustomerFactory(email="outage@example.org")
    incident = services.open_incident(customer=customer, channel="chat", summary="x", severity=3, actor=tier1)
    verified_client(tier1)
    started = time.monotonic()
    for i in range(3):
        response = client.post(
            reverse("incidents:incident-note", args=[incident.pk]), {"body": f"Note {i}", "visibility": "customer"}
        )
        assert response.status_code == 302
    assert time.monotonic() - started < 20  # the outage slows the request a little, never fails it
    assert _counts() == {"queued": 4}
    assert tasks.sweep(queued_after=timedelta(0)) == 0  # still down: rows stay for the next sweep

    server = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0)
        worker(broker_url=url)
        assert tasks.sweep(queued_after=timedelta(0)) == 4
        wait_for(lambda: _counts()["sent"] == 4, what="the four queued emails sent")
        assert len(smtp.messages) == 4 and set(smtp.keys().values()) == {1}
    finally:
        server.terminate()
        server.wait(10)


def test_d_worker_killed_while_the_server_holds_its_250_that_one_email_arrives_twice(worker, smtp, incident):
    """SIGKILL the worker while the SMTP server holds one message it has already taken, before the
    worker has heard "250": the one window no client can close (the acceptance is still on the
    wire). The worker never marked it accepted, so once its lease has expired the sweeper queues
    the row again and it is sent a second time, with the same Message-ID and X-Bulwark-Update,
    so the receiving side can tell the copies apart from new mail. Exactly that row, and only it,
    arrives twice; counted by idempotency key every update arrives exactly once.
    """
    ids = _queue_many(incident, 40, "kill")
    smtp.hold_after = 15
    first = worker()
    assert smtp.holding.wait(DEADLINE), "the worker never reached the 15th message"
    first.kill()
    smtp.release.set()
    in_flight = CustomerUpdate.objects.get(status="sending")
    assert _counts()["sent"] == 14

    worker()

    def swept_and_sent():  # what beat does every few seconds
        tasks.sweep(queued_after=timedelta(0))
        return _counts()["sent"] == 41

    wait_for(swept_and_sent, what="all 41 emails sent after the restart")
    keys = smtp.keys()
    assert set(keys) == set(CustomerUpdate.objects.values_list("idempotency_key", flat=True))
    assert {key for key, n in keys.items() if n > 1} == {in_flight.idempotency_key}
    copies = [m for m in smtp.messages if m["X-Bulwark-Update"] == in_flight.idempotency_key]
    assert len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"] == in_flight.message_id
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.attempts) == ("sent", 2)
    assert set(CustomerUpdate.objects.exclude(pk=in_flight.pk).values_list("attempts", flat=True)) == {1}
    assert len(ids) == 40


def test_e_header_injection_is_neutralised_on_the_wire(worker, smtp, tier1):
    customer = CustomerFactory(display_name="Eve\r\nBcc: thief@evil.example", email="eve@example.org")
    incident = services.open_incident(customer=customer, channel="email", summary="x", severity=2, actor=tier1)
    with transaction.atomic():
        forged = emails.notify_customer(incident, template="message", key="forged", message="Hi")
        CustomerUpdate.objects.filter(pk=forged.pk).update(subject="Hi\r\nBcc: thief@evil.example\r\n\r\nbody")
        sneaky = emails.notify_customer(incident, template="message", key="sneaky", message="Hi")
        CustomerUpdate.objects.filter(pk=sneaky.pk).update(recipient="eve@example.org\nBcc: thief@evil.example")
    worker()
    wait_for(lambda: _counts()["sent"] == 2 and _counts()["failed"] == 1, what="two sent, one refused")
    assert smtp.envelopes == [["eve@example.org"], ["eve@example.org"]]
    for message in smtp.messages:
        assert message.get_all("Bcc") is None and message.get_all("To") == ["eve@example.org"]
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert "not a valid email address" in CustomerUpdate.objects.get(pk=sneaky.pk).last_error


def test_f_bad_addresses_fail_cleanly_and_visibly(worker, smtp, tier1, client, verified_client):
    refused = CustomerFactory(email="nobody@reject.example")
    malformed = CustomerFactory(email="kari@@example..org")
    incidents = [
        services.open_incident(customer=c, channel="phone", summary="x", severity=2, actor=tier1)
        for c in (refused, malformed)
    ]
    worker()
    wait_for(lambda: _counts()["failed"] == 2, what="both emails failed")
    by_recipient = {u.recipient: u for u in CustomerUpdate.objects.all()}
    rejected = by_recipient["nobody@reject.example"]
    assert rejected.attempts == 1  # a 5xx answer is final: no retries
    assert rejected.last_error.startswith("Recipient refused by the mail server: 550 5.1.1")
    assert by_recipient["kari@@example..org"].last_error.endswith("is not a valid email address.")
    assert smtp.messages == []
    verified_client(tier1)
    page = client.get(incidents[0].get_absolute_url()).content.decode()
    assert "1 email failed" in page and "Not delivered: Recipient refused by the mail server: 550" in page
    assert "2</span> customer emails failed" in client.get(reverse("incidents:dashboard")).content.decode()
