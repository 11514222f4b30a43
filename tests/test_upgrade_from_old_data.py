"""Upgrading keeps every byte: a database the previous release filled still migrates, verifies and renders.

`tests/data/db-<OLD_REV>.sql.gz` is a plain `pg_dump` of a database that the previous release
(OLD_REV) migrated and seeded (the demo desk plus generated incidents with their audit trail).
It is a file rather than a `git archive` of OLD_REV made at test time, so the test needs no git
history (CI may clone shallow) and proves the upgrade of what that release really wrote. To make
it again: `python -m tests.make_old_dump` (it exports OLD_REV from git and seeds with it).

The dump is loaded into a fresh PostgreSQL database (created here, dropped at the end whatever
happens); the current code then migrates it, `verify_audit` passes over the old chain, and
tests/upgrade_walk.py requests every page of every old incident, the lists, queues, campaigns and
the audit viewer, and finds every old audit entry there. Everything runs in subprocesses with the
venv's python; the test's own database is only the `postgres` marker.
"""

import gzip
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

# The last release before the models moved into apps by bounded context.
OLD_REV = "f8948b1"
REPO = Path(__file__).resolve().parent.parent
DUMP = REPO / "tests" / "data" / f"db-{OLD_REV}.sql.gz"
GENERATED_INCIDENTS = 40

pytestmark = pytest.mark.postgres


def server_params() -> dict:
    params = connection.settings_dict
    return {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or 5432,
        "user": params["USER"],
        "password": params["PASSWORD"] or None,
    }


@pytest.fixture
def scratch_database(postgres):
    """A fresh database beside the test database, dropped at the end even when the test fails."""
    server = server_params()
    name = f"bulwark_olddata_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['password']}" if server["password"] else ""
    try:
        yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_dump(url: str) -> None:
    """Restore the plain-SQL dump with psql (its COPY blocks need psql), stopping at the first error."""
    sql = gzip.decompress(DUMP.read_bytes())
    done = subprocess.run(
        ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", url], input=sql, capture_output=True, timeout=300
    )
    assert done.returncode == 0, f"restoring {DUMP.name} failed:\n{done.stderr.decode()[-4000:]}"


def _run(tree: Path, env: dict, *args: str) -> str:
    started = time.monotonic()
    done = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    where = "old" if tree != REPO else "current"
    print(f"[{where} code] {' '.join(args)}  ({time.monotonic() - started:.1f} s, exit {done.returncode})")
    assert done.returncode == 0, (
        f"{where} code: `{' '.join(args)}` exited {done.returncode}\n"
        f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    )
    return done.stdout


def test_database_filled_by_the_previous_release_migrates_verifies_and_renders(scratch_database, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    anchors = var / "audit-anchors.jsonl"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",  # the deployed settings, in development mode
        DEBUG="1",
        DATABASE_URL=scratch_database,
        BULWARK_VAR_DIR=str(var),
        AUDIT_ANCHOR_PATH=str(anchors),
        ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        PYTHONPATH=str(REPO),  # only for tests/upgrade_walk.py (and its factories): run from the current tree
    )

    # What the previous release wrote: its schema, the demo desk and generated incidents.
    started = time.monotonic()
    load_dump(scratch_database)
    print(f"[old data] {DUMP.name} restored ({time.monotonic() - started:.1f} s)")
    old_head = _scalar(scratch_database, "SELECT coalesce(max(seq), 0) FROM audit_auditentry")
    old_incidents = _scalar(scratch_database, "SELECT count(*) FROM incidents_incident")
    assert old_incidents > GENERATED_INCIDENTS and old_head > 0
    old_anchors = len(anchors.read_text().splitlines()) if anchors.exists() else 0
    print(f"old code left {old_incidents} incidents, {old_head} audit entries and {old_anchors} anchors")

    # The current code takes it over.
    print(_run(REPO, env, "manage.py", "migrate", "--noinput"))
    # Without --no-anchors: the old release wrote anchors only from the beat task (none in the dump), but
    # the current code anchors its own appends, so the migration's entries leave an anchor covering
    # the old chain; verify_audit checks the whole chain, old entries included, against it.
    print(_run(REPO, env, "manage.py", "verify_audit"))
    assert anchors.exists(), "no anchor was written: verify_audit checked the chain against itself only"
    print(_run(REPO, env, "-m", "tests.upgrade_walk", str(old_head), str(old_incidents)))


def _scalar(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]
