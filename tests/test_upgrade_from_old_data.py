"""Upgrading keeps every byte: a database the previous release filled still migrates, verifies and renders.

The previous release (OLD_REV) is exported from git history with `git archive` into a temporary
folder; it migrates a fresh PostgreSQL database and seeds it (the demo desk plus generated incidents
with their audit trail). The current code then migrates that database, `verify_audit` passes over
the old chain, and tests/upgrade_walk.py requests every page of every old incident, the lists,
queues, campaigns and the audit viewer, and finds every old audit entry there.

Everything runs in subprocesses with the venv's python against its own database (created here,
dropped at the end whatever happens); the test's own database is only the `postgres` marker. A
missing OLD_REV (a shallow clone) fails the test: CI must fetch the whole history.
"""

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
GENERATED_INCIDENTS = 40

pytestmark = pytest.mark.postgres


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True)


@pytest.fixture
def old_tree(tmp_path):
    """The source tree at OLD_REV, exported (no worktree or checkout left behind)."""
    found = _git("rev-parse", "--verify", "--quiet", f"{OLD_REV}^{{commit}}")
    if found.returncode != 0:
        pytest.fail(
            f"git revision {OLD_REV} (the previous release) is not in this clone at {REPO}: the upgrade test "
            "needs the history (clone without --depth, or `git fetch --unshallow`)."
        )
    tree = tmp_path / "old"
    tree.mkdir()
    archive = subprocess.Popen(["git", "archive", OLD_REV], cwd=REPO, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    assert archive.wait() == 0, f"git archive {OLD_REV} failed"
    return tree


@pytest.fixture
def scratch_database(postgres):
    """A fresh database beside the test database, dropped at the end even when the test fails."""
    params = connection.settings_dict
    server = {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or 5432,
        "user": params["USER"],
        "password": params["PASSWORD"] or None,
    }
    name = f"bulwark_olddata_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['password']}" if server["password"] else ""
    try:
        yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def test_database_filled_by_the_previous_release_migrates_verifies_and_renders(old_tree, scratch_database, tmp_path):
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
    old_env = dict(env, PYTHONPATH="")  # the old code imports only itself

    # The previous release fills the database: its schema, the demo desk and generated incidents.
    _run(old_tree, old_env, "manage.py", "migrate", "--noinput")
    _run(old_tree, old_env, "manage.py", "seed_demo")
    print(_run(old_tree, old_env, "manage.py", "seed_demo", "--incidents", str(GENERATED_INCIDENTS), "--seed", "1"))
    old_head = _scalar(scratch_database, "SELECT coalesce(max(seq), 0) FROM audit_auditentry")
    old_incidents = _scalar(scratch_database, "SELECT count(*) FROM incidents_incident")
    assert old_incidents > GENERATED_INCIDENTS and old_head > 0
    old_anchors = len(anchors.read_text().splitlines()) if anchors.exists() else 0
    print(f"old code left {old_incidents} incidents, {old_head} audit entries and {old_anchors} anchors")

    # The current code takes it over.
    print(_run(REPO, env, "manage.py", "migrate", "--noinput"))
    # Without --no-anchors: the old code wrote anchors only from the beat task (not running here), but
    # the current code anchors its own appends, so the migration's entries leave an anchor covering
    # the old chain; verify_audit checks the whole chain, old entries included, against it.
    print(_run(REPO, env, "manage.py", "verify_audit"))
    assert anchors.exists(), "no anchor was written: verify_audit checked the chain against itself only"
    print(_run(REPO, env, "-m", "tests.upgrade_walk", str(old_head), str(old_incidents)))


def _scalar(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]
