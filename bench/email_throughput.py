"""Customer-email throughput: the outbox through Redis and Celery workers, beside raw smtplib.

Run by hand against PostgreSQL and Redis (a database of its own: the script migrates it and
adds rows to it):

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE bulwark_bench'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bulwark_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/2 \\
        SECRET_KEY=bench ALLOWED_HOSTS=localhost .venv/bin/python bench/email_throughput.py -n 500

An aiosmtpd server runs in this process and counts what arrives. Each round, raw smtplib (in a
process of its own, as a worker is) sends N messages of the same size to it, one connection per
message and then over one reused connection; then N outbox rows are written in one transaction
(rendered, inserted, audited, as an agent's action would) and the script waits until the worker(s)
have delivered all N. "Bulwark/s" counts from the commit to the last arrival: the pipeline the
ratio is about (outbox -> Redis -> worker -> SMTP); the rate including the writing of the rows is
shown beside it. Rounds alternate so that other load on the machine falls on all alike; the
verdict is the median ratio. `--profile FILE` runs one solo worker under cProfile. Figures are
wall-clock; nothing here gates CI.
"""

import argparse
import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class Counter:
    """aiosmtpd handler: counts accepted messages and notes when the last one arrived."""

    def __init__(self):
        self.count = 0
        self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            self.last = time.perf_counter()
        return "250 OK"

    def wait_for(self, n: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count >= n:
                return self.last
            time.sleep(0.01)
        raise SystemExit(f"only {self.count} of {n} messages arrived within {timeout:.0f}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_smtplib(port: int, counter: Counter, n: int, body: str, *, reuse: bool) -> float:
    """Messages per second with smtplib alone, from a process of its own (as a worker is), counted
    at the server from the client's start to the last arrival."""
    start_count = counter.count
    child = subprocess.Popen(
        [sys.executable, __file__, "--raw-client", str(port), str(n), "reuse" if reuse else "new"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, _err = child.communicate(body)
    start = float(out.split()[0])
    end = counter.wait_for(start_count + n, timeout=120)
    return n / (end - start)


def raw_client(port: int, n: int, body: str, *, reuse: bool) -> None:
    """The raw smtplib client (run as `--raw-client PORT N reuse|new`, body on stdin)."""
    print(time.perf_counter(), flush=True)
    client = smtplib.SMTP("127.0.0.1", port) if reuse else None
    for i in range(n):
        message = EmailMessage()
        message["From"], message["To"] = "support@bulwark.localhost", "bench@example.org"
        message["Subject"], message["Message-ID"] = f"raw {i}", f"<raw.{reuse}.{i}@bench>"
        message.set_content(body)
        if reuse:
            client.send_message(message)
        else:
            with smtplib.SMTP("127.0.0.1", port) as one:
                one.send_message(message)
    if client:
        client.quit()


def main() -> None:
    if sys.argv[1:2] == ["--raw-client"]:
        port, n, mode = sys.argv[2:5]
        return raw_client(int(port), int(n), sys.stdin.read(), reuse=mode == "reuse")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="emails per measurement (default 500)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--pool", default="threads", help="worker pool: threads, prefork or solo (default threads)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each kind, alternated (default 3)")
    parser.add_argument("--profile", metavar="FILE", help="run one solo worker under cProfile, stats to FILE")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL=postgres://... (a database of its own: the bench writes rows)")
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        raise SystemExit("set CELERY_BROKER_URL=redis://...")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")

    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection

    counter, port = Counter(), free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from config.celery import app
    from incidents import emails, services
    from incidents.models import Customer
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    app.conf.task_always_eager = False
    from accounts.models import User

    agent = User.objects.filter(email="bench-agent@bulwark.test").first()
    agent = agent or UserFactory(email="bench-agent@bulwark.test", roles=["agent"])
    stamp = int(time.time())
    customer = Customer.objects.create(
        display_name="Bench Customer", email="bench@example.org", account_reference=f"BENCH-{stamp}", language="de"
    )

    env = {**os.environ, "LOG_LEVEL": "WARNING", "CONN_MAX_AGE": "60"}
    if args.profile:
        args.workers, args.pool, args.concurrency = 1, "solo", 1
        command = [sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "celery"]
    else:
        command = [str(Path(sys.executable).with_name("celery"))]
    workers = [
        subprocess.Popen(
            [*command, "-A", "config", "worker", f"--pool={args.pool}", f"--concurrency={args.concurrency}",
             "--without-gossip", "--without-mingle", "--loglevel=WARNING", "-n", f"bench{i}@%h"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        )
        for i in range(args.workers)
    ]  # fmt: skip
    try:
        # Warm up: the workers are connected and have sent one email before the clock starts.
        incident = services.open_incident(customer=customer, channel="email", summary="bench", severity=2, actor=agent)
        counter.wait_for(1, timeout=60)
        body = incident.customer_updates.get().body_text

        rounds = []
        for r in range(args.rounds):  # alternated, so that the machine's other load falls on all three alike
            raw_new = raw_smtplib(port, counter, args.n, body, reuse=False)
            raw_reuse = raw_smtplib(port, counter, args.n, body, reuse=True)
            before = counter.count
            start = time.perf_counter()
            with transaction.atomic():  # as an agent's action would, many at once: one batch per transaction
                for i in range(args.n):
                    key = f"bench:{stamp}:{r}:{i}"
                    emails.notify_customer(incident, template="progress", key=key, message=f"Step {i}")
            committed = time.perf_counter()
            end = counter.wait_for(before + args.n, timeout=600)
            rounds.append((raw_new, raw_reuse, args.n / (end - committed), args.n / (end - start), committed - start))
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
        controller.stop()

    pool = f"{args.workers} x {args.pool} ({args.concurrency})"
    print(f"emails: {args.n} per measurement, {args.rounds} round(s), workers: {pool}; PostgreSQL + Redis + aiosmtpd")
    print("round  raw new conn/s  raw one conn/s  Bulwark/s  ratio  | incl. writing the rows/s  ratio  writing s")
    for r, (raw_new, raw_reuse, delivery, with_writing, writing) in enumerate(rounds, start=1):
        print(
            f"{r:5}  {raw_new:14.1f}  {raw_reuse:14.1f}  {delivery:9.1f}  {delivery / raw_reuse:5.2f}  |"
            f"  {with_writing:23.1f}  {with_writing / raw_reuse:5.2f}  {writing:9.2f}"
        )
    ratios = sorted(delivery / raw_reuse for _new, raw_reuse, delivery, _w, _t in rounds)
    print(
        f"median ratio Bulwark (commit -> Redis -> worker -> SMTP) / raw smtplib one reused connection: "
        f"{statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
