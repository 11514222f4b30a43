"""The real stack's fixtures (tests.notifications.stack); on the embedded default, emails queued in a
test's transaction go out at once."""

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from tests.notifications.stack import DRILL_RESULTS, Inbox, Worker, free_port, use_broker, wait_for


@pytest.fixture(autouse=True)
def _after_commit_runs_at_once(after_commit_at_once):
    """Emails queued in a test's transaction go out at once (tests.desk.after_commit_at_once)."""


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    inbox.release.set()
    controller.stop()


@pytest.fixture
def broker(postgres, redis_broker):
    """A real broker for this test: Redis, emptied first; tasks are no longer run in-process."""
    import redis

    from config.celery import app

    redis.Redis.from_url(redis_broker).flushdb()
    previous, app.conf.task_always_eager = app.conf.task_always_eager, False
    use_broker(None)
    yield redis_broker
    app.conf.task_always_eager = previous
    use_broker(None)
    redis.Redis.from_url(redis_broker).flushdb()


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


def pytest_terminal_summary(terminalreporter):
    """The drills' figures (tests/notifications/test_drills.py), where they can be quoted."""
    if DRILL_RESULTS:
        terminalreporter.section("outbox drills")
        for line in DRILL_RESULTS:
            terminalreporter.write_line(line)
