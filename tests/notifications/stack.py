"""The real stack for the outbox's tests and drills: an aiosmtpd inbox in this process, `celery
worker` and `celery beat` as child processes, throwaway Redis and PostgreSQL servers on free ports.

Every wait polls with a deadline.
"""

import asyncio
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from django.db import connection

CELERY = Path(sys.executable).with_name("celery")
DEADLINE = 60  # seconds any one wait may take before the test fails
DRILL_RESULTS: list[str] = []  # the drills' figures, printed in the terminal summary (conftest)


def free_port() -> int:
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
        # Keep the answer to MAIL FROM back once this many messages are in, until released: the
        # client has heard the 250 of every message before, and is starting the next one.
        self.hold_mail_at: int | None = None
        self._lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self._lock:
            hold = self.hold_mail_at is not None and len(self.messages) >= self.hold_mail_at
            if hold:
                self.hold_mail_at = None
        if hold:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, DEADLINE)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    def hold_next_mail_at(self, n: int) -> None:
        self.holding.clear()
        self.release.clear()
        self.hold_mail_at = n

    def message_ids(self) -> Counter:
        return Counter(m["Message-ID"] for m in self.messages)

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


def use_broker(url: str | None) -> None:
    """Point this process's Celery producer at `url`, None for the configured broker.

    The write URL is the one setting that beats the CELERY_BROKER_URL environment variable, and
    the connection pools cache the old connection, so both are reset.
    """
    from config.celery import app

    app.conf.broker_write_url = url
    app._pool = None
    app.amqp._producer_pool = None


def test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """`celery worker` as a child process, against the test database."""

    def __init__(self, broker_url: str, smtp_url: str, log: Path, pool: str = "solo", database_url: str = ""):
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url or test_database_url(),
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


class Beat(Worker):
    """`celery beat` as a child process: the sweeper every few seconds, as in production."""

    def __init__(self, broker_url: str, log: Path, database_url: str = ""):
        super().__init__(broker_url, "smtp://127.0.0.1:1", log, database_url=database_url)
        self.args = [str(CELERY), "-A", "config", "beat", "--schedule", str(log.with_suffix(".schedule"))]


class RedisServer:
    """A throwaway redis-server on a free port, no persistence (a restart forgets everything)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    @classmethod
    def on_port(cls, port: int) -> "RedisServer":
        return cls(port)

    def start(self) -> "RedisServer":
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        ping = ["redis-cli", "-p", str(self.port), "ping"]
        wait_for(lambda: subprocess.run(ping, capture_output=True).stdout.strip() == b"PONG", what="redis-server")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb, pg_ctl) on a free port under `root`, owned by the
    `postgres` user when this runs as root. Holds a copy of the test database (pg_dump)."""

    def __init__(self, root: Path):
        self.bin = postgres_bin()
        self.port = free_port()
        self.root = root
        self.data = root / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/drill"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> "PostgresCluster":
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        db = connection.settings_dict
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]],
            check=True, capture_output=True, env={**os.environ, "PGPASSWORD": db["PASSWORD"] or ""},
        )  # fmt: skip
        psql = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q"]
        subprocess.run([*psql, "-c", "CREATE DATABASE drill"], check=True, capture_output=True)
        subprocess.run(
            [*psql, "-v", "ON_ERROR_STOP=1", "-d", "drill"], input=dump.stdout, check=True, capture_output=True
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
