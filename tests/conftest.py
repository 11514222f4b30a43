"""Shared fixtures. Service-backed tests skip with a reason when their service is not configured;
under REQUIRE_SERVICES=1 (CI) any skip fails the run instead."""

import os
import secrets
import shutil

import hypothesis
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django_otp import DEVICE_ID_SESSION_KEY

from tests.factories import UserFactory, confirmed_totp_device

pytest_plugins = ["tests.desk"]  # the desk's fixtures, for every test directory

# Playwright's sync API runs an event loop in the test thread; Django must not mistake it for async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# `make mutation` (mutation/run.py) runs the rule modules' tests once per mutant: with no example database (each
# run starts from the same fixed seed, whatever an earlier run found) and no deadline (two shared cores).
hypothesis.settings.register_profile("mutation", database=None, deadline=None)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"REQUIRE_SERVICES=1 but the test was skipped: {reason}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """`make mutation` runs these tests once per mutant, with --reuse-db: each run starts from its own copy of
    a test database migrated once (MUTATION_TEST_DATABASE, made by mutation/run.py) instead of migrating one."""
    template = os.environ.get("MUTATION_TEST_DATABASE")
    if not template:
        yield
        return
    copy = f"{template}.{os.getpid()}"
    shutil.copyfile(template, copy)
    connections[DEFAULT_DB_ALIAS].settings_dict["TEST"]["NAME"] = copy
    yield
    for path in (copy, f"{copy}-journal"):
        if os.path.exists(path):
            os.remove(path)


@pytest.fixture(scope="session", autouse=True)
def _child_processes_keep_out_of_var(tmp_path_factory):
    """Processes the tests start (a Celery worker, gunicorn, manage.py) take their settings from the
    environment: point their var/ folder and audit anchor file at a temporary folder, so that a test
    run never writes anchors of a test database into the checkout's var/, where `make run` keeps its
    own (verify_audit would then report the chain rewritten)."""
    var = tmp_path_factory.mktemp("var")
    patch = pytest.MonkeyPatch()
    patch.setenv("BULWARK_VAR_DIR", str(var))
    patch.setenv("AUDIT_ANCHOR_PATH", str(var / "audit-anchors.jsonl"))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def _isolated_var(settings, tmp_path):
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.AUDIT_ANCHOR_PATH = tmp_path / "audit-anchors.jsonl"


@pytest.fixture(scope="session", autouse=True)
def _flush_passes_the_audit_triggers():
    """Let Django's `flush` empty the append-only audit tables between transactional tests.

    pytest-django resets the database after a `django_db(transaction=True)` test with
    `manage.py flush` (TRUNCATE on PostgreSQL, DELETE on SQLite), which the audit triggers
    rightly refuse. Only that command is wrapped, in `audit.triggers.suspended()`: the test
    database's owner disables the triggers inside the flush's own transaction and re-enables them
    before it commits. During every test the triggers are exactly those production runs, and the
    production trigger functions carry no bypass for tests to use.
    """
    from django.core.management.commands import flush

    from audit import triggers

    original = flush.Command.handle

    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with triggers.suspended(connection):
            return original(self, **options)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Celery tasks run eagerly in tests, even with CELERY_BROKER_URL set; the tests that need a
    real broker and worker switch this off themselves."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def postgres(db):
    """Marks a test that needs PostgreSQL; the test database must be PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/bulwark")


@pytest.fixture
def redis_broker():
    """The Redis broker URL, when CELERY_BROKER_URL points at one that answers."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis at {url} does not answer: {exc}")
    return url


@pytest.fixture
def chromium_path():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def agent(db):
    return UserFactory(roles=["agent"])


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], is_staff=True)


def verify_session(client, user, *, reauthenticated=False):
    """Sign the user in on the test client with both factors (and, if asked, a fresh re-authentication)."""
    import time

    from accounts.access import REAUTH_KEY
    from accounts.middleware import LAST_ACTIVE_KEY, SESSION_STARTED_KEY
    from accounts.models import AgentSession
    from accounts.sessions import RECORDED_KEY, SID_KEY

    device = confirmed_totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    if reauthenticated:
        session[REAUTH_KEY] = int(time.time())
    # As after the browser's first page: the browser recorded and the minute's activity stamped,
    # so what a test measures is the cost of an ordinary request.
    now = int(time.time())
    session[SESSION_STARTED_KEY] = session[LAST_ACTIVE_KEY] = now
    session[SID_KEY] = secrets.token_hex(16)
    session.save()
    AgentSession.objects.create(user=user, sid=session[SID_KEY], session_key=session.session_key)
    session[RECORDED_KEY] = [session.session_key, now]
    session.save()
    return client


@pytest.fixture
def verified_client(client):
    def make(user, *, reauthenticated=False):
        return verify_session(client, user, reauthenticated=reauthenticated)

    return make
