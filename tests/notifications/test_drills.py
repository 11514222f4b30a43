"""Fault drills on the real stack: a Celery worker killed twice, PostgreSQL stopped for 30 s, Redis
stopped for 60 s, each while customer emails are being sent.

What is counted is what the aiosmtpd server received, by Message-ID: no email lost (every row's
Message-ID arrived), none duplicated (none arrived twice), and how long after the fault ended the
last one arrived. `celery beat` runs the sweeper every 5 s as in production. Each drill prints a
DRILL line with its figures in the terminal summary.
"""

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from incidents import services
from notifications.models import CustomerUpdate
from tests.factories import CustomerFactory
from tests.notifications.queue_updates import queue_updates
from tests.notifications.stack import (
    DRILL_RESULTS,
    Beat,
    PostgresCluster,
    RedisServer,
    Worker,
    postgres_bin,
    use_broker,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

DRAIN_LIMIT = 60  # seconds from the end of a fault to the last email, as the issue demands


@pytest.fixture
def incident(tier1):
    customer = CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", language="nb")
    return services.open_incident(customer=customer, channel="phone", summary="Payout changed", severity=2, actor=tier1)


@pytest.fixture
def stack(tmp_path):
    """Start workers and beat; everything started is stopped at the end."""
    started = []

    def start(process):
        started.append(process.start())
        return process

    yield start
    for process in reversed(started):
        process.stop()
    # Their database sessions end a moment after the processes: wait, so that the flush after this
    # test and the final DROP DATABASE do not meet them.
    with connection.cursor() as cursor:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        wait_for(lambda: cursor.execute(sql) or cursor.fetchone()[0] == 0, timeout=15, what="sessions to end")


def _verdict(name: str, rows: dict[str, str], inbox, **figures) -> dict:
    """Lost and duplicated emails, counted at the SMTP server by Message-ID; printed and returned."""
    arrived = inbox.message_ids()
    lost = sorted(set(rows) - set(arrived))
    duplicated = sum(n - 1 for n in arrived.values() if n > 1)
    statuses = Counter(rows.values())
    line = (
        f"DRILL {name}: rows={len(rows)} arrived={len(arrived)} lost={len(lost)} duplicated={duplicated} "
        f"statuses={dict(statuses)} " + " ".join(f"{key}={value}" for key, value in figures.items())
    )
    DRILL_RESULTS.append(line)
    print(line)
    return {"lost": lost, "duplicated": duplicated, "statuses": statuses}


def _rows_here() -> dict[str, str]:
    return dict(CustomerUpdate.objects.values_list("message_id", "status"))


def test_drill_worker_sigkilled_twice_during_1000_updates(broker, smtp, incident, tmp_path, stack):
    """Each kill lands while the worker waits for the server's answer to MAIL FROM: it has heard
    the 250 of every earlier message of its batch and recorded none of them in the database (the
    batch is recorded at its end). Those rows are left `sending`; their accepted marks are what
    keeps them from being sent again once the sweeper finds their lease gone."""
    stack(Beat(broker, tmp_path / "beat.log"))
    worker = stack(Worker(broker, smtp.url, tmp_path / "worker.log"))
    accepted_unrecorded: set[str] = set()
    smtp.hold_next_mail_at(300)
    queue_updates(incident, 1000, "kill", per_transaction=1000)
    for next_kill in (650, None):
        assert smtp.holding.wait(60), "the worker never reached the message to be killed at"
        worker.kill()
        killed_at = time.monotonic()
        arrived = set(smtp.message_ids())
        sending = set(CustomerUpdate.objects.filter(status="sending").values_list("message_id", flat=True))
        accepted_unrecorded |= sending & arrived
        if next_kill:
            smtp.hold_next_mail_at(next_kill)
        smtp.release.set()
        worker = stack(Worker(broker, smtp.url, tmp_path / "worker.log"))

    def drained():
        rows = _rows_here()
        return len(rows) == 1001 and set(rows.values()) == {"sent"} and len(smtp.message_ids()) >= 1001

    wait_for(drained, timeout=120, what="every email sent after the second kill")
    drain = time.monotonic() - killed_at
    result = _verdict(
        "worker SIGKILL x2", _rows_here(), smtp, accepted_unrecorded_at_kills=len(accepted_unrecorded),
        drain_after_2nd_kill=f"{drain:.1f}s",
    )  # fmt: skip
    assert result["lost"] == [] and result["duplicated"] == 0
    # The rows the kills left accepted but unrecorded were resolved by their marks, never sent again.
    assert accepted_unrecorded
    resolved = CustomerUpdate.objects.filter(message_id__in=accepted_unrecorded)
    assert set(resolved.values_list("status", "attempts")) == {("sent", 1)}


def _drill_database_rows(url: str) -> dict[str, str]:
    with psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=2) as conn:
        return dict(conn.execute("SELECT message_id, status FROM incidents_customerupdate").fetchall())


@pytest.mark.skipif(postgres_bin() is None, reason="needs PostgreSQL's server binaries (initdb, pg_ctl)")
def test_drill_postgresql_stopped_30s_during_sending(broker, smtp, tmp_path, stack):
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="bulwark-drill-pg-")))
    try:
        cluster.init()
        stack(Beat(broker, tmp_path / "beat.log", database_url=cluster.url))
        stack(Worker(broker, smtp.url, tmp_path / "worker.log", database_url=cluster.url))
        env = {**os.environ, "DATABASE_URL": cluster.url, "CELERY_BROKER_URL": broker}
        writer = [sys.executable, "-m", "tests.notifications.queue_updates", "600", "pg", "600"]
        subprocess.run(writer, env=env, check=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
        wait_for(lambda: len(smtp.messages) >= 100, what="100 emails before the database stops")
        cluster.stop()
        stopped = time.monotonic()
        at_stop = len(smtp.messages)
        time.sleep(30)
        during = len(smtp.messages) - at_stop
        cluster.start()
        back = time.monotonic()

        def drained():
            rows = _drill_database_rows(cluster.url)
            return len(rows) == 601 and set(rows.values()) == {"sent"} and len(smtp.message_ids()) >= 601

        wait_for(drained, timeout=120, what="every email sent after the database came back")
        drain = time.monotonic() - back
        result = _verdict(
            "PostgreSQL stopped 30s", _drill_database_rows(cluster.url), smtp, arrived_before_stop=at_stop,
            arrived_while_stopped=during, outage=f"{back - stopped:.1f}s", drain_after_restart=f"{drain:.1f}s",
        )  # fmt: skip
        assert result["lost"] == [] and result["duplicated"] == 0
        assert drain <= DRAIN_LIMIT
    finally:
        cluster.destroy()


def test_drill_redis_stopped_60s_during_sending(broker, smtp, incident, tmp_path, stack):
    redis = RedisServer().start()
    use_broker(redis.url)  # this process's producer: the outbox enqueues to the throwaway Redis
    try:
        stack(Beat(redis.url, tmp_path / "beat.log"))
        stack(Worker(redis.url, smtp.url, tmp_path / "worker.log"))
        queue_updates(incident, 600, "redis", per_transaction=600)
        wait_for(lambda: len(smtp.messages) >= 100, what="100 emails before Redis stops")
        redis.stop()
        stopped = time.monotonic()
        at_stop = len(smtp.messages)
        time.sleep(60)
        during = len(smtp.messages) - at_stop
        redis = RedisServer.on_port(redis.port).start()  # empty: the queue and the marks are gone
        back = time.monotonic()

        def drained():
            rows = _rows_here()
            return len(rows) == 601 and set(rows.values()) == {"sent"} and len(smtp.message_ids()) >= 601

        wait_for(drained, timeout=120, what="every email sent after Redis came back")
        drain = time.monotonic() - back
        result = _verdict(
            "Redis stopped 60s", _rows_here(), smtp, arrived_before_stop=at_stop, arrived_while_stopped=during,
            outage=f"{back - stopped:.1f}s", drain_after_restart=f"{drain:.1f}s",
        )  # fmt: skip
        assert result["lost"] == [] and result["duplicated"] == 0
        assert drain <= DRAIN_LIMIT
    finally:
        redis.stop()
