"""Every append is anchored outside the database within about a second, by the process that made
it, in every configuration (the embedded default of `make run` included), so entries cut from
the end of the chain are caught by verify_audit; and with DEBUG off, verify_audit refuses to
vouch for a chain it has no anchor for."""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookiejar import CookieJar
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit import anchors, tasks, triggers
from audit.models import AuditAction, AuditEntry
from audit.services import record

BASE_DIR = Path(django_settings.BASE_DIR)


def verify(*args):
    out, err = StringIO(), StringIO()
    call_command("verify_audit", "--no-record", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def wait_for_anchor(seq: int, path: Path | None = None, timeout: float = 10.0) -> list[anchors.Anchor]:
    """Wait (without writing anything) until the sink names entry `seq`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = list(anchors.read_anchors(path))
        if any(anchor.seq >= seq for anchor in written):
            return written
        time.sleep(0.05)
    raise AssertionError(f"entry #{seq} was not anchored within {timeout} s: {written}")


def cut_newest(n: int) -> None:
    """A database owner deletes the newest entries, the triggers switched off for the moment."""
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditentry WHERE seq IN (SELECT seq FROM audit_auditentry ORDER BY seq DESC LIMIT %s)",
            [n],
        )


@pytest.mark.django_db(transaction=True)
def test_a_request_is_anchored_by_itself_and_cutting_its_entries_is_caught(client):
    # The embedded default: no broker (tasks run eagerly), no beat. Nobody calls write_anchor.
    assert django_settings.CELERY_TASK_ALWAYS_EAGER or os.environ.get("CELERY_BROKER_URL")
    record(AuditAction.INCIDENT_VIEWED, incident_id=1)
    client.post("/accounts/login/", {"username": "nobody@example.test", "password": "wrong"}, REMOTE_ADDR="192.0.2.7")
    head = AuditEntry.objects.order_by("-seq").first()
    assert head.action == AuditAction.SIGN_IN_FAILED
    wait_for_anchor(head.seq)
    assert "intact" in verify()

    cut_newest(1)
    with pytest.raises(CommandError, match=rf"chain ends at #{head.seq - 1} but an anchor names entry #{head.seq}"):
        verify()


@pytest.mark.django_db(transaction=True)
def test_appends_in_quick_succession_are_coalesced_into_few_lines(settings):
    settings.AUDIT_ANCHOR_INTERVAL_SECONDS = 0.5
    wait_for_anchor(record(AuditAction.SIGN_IN).seq)  # the writer is awake and has just written
    started = time.monotonic()
    entries = [record(AuditAction.INCIDENT_VIEWED, incident_id=i) for i in range(40)]
    elapsed = time.monotonic() - started
    written = wait_for_anchor(entries[-1].seq)
    # One line, then at most one per interval: never one line per append.
    assert len(written) - 1 <= 2 + elapsed / 0.5, (len(written), elapsed)
    assert len(written) < len(entries) / 4
    assert written[-1].seq == entries[-1].seq and written[-1].hash == entries[-1].hash
    cut_newest(3)
    with pytest.raises(CommandError, match=rf"an anchor names entry #{entries[-1].seq}"):
        verify()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_append_is_not_anchored():
    from django.db import transaction

    kept = record(AuditAction.SIGN_IN)
    with pytest.raises(RuntimeError), transaction.atomic():
        record(AuditAction.SIGN_OUT)
        raise RuntimeError
    written = wait_for_anchor(kept.seq)
    time.sleep(django_settings.AUDIT_ANCHOR_INTERVAL_SECONDS + 0.2)
    assert max(anchor.seq for anchor in anchors.read_anchors()) == kept.seq, written
    assert "intact" in verify()


@pytest.mark.django_db
def test_entries_left_unanchored_for_over_a_minute_fail_verification(settings):
    record(AuditAction.SIGN_IN)
    tasks.anchor_chain_head.apply()
    late = record(AuditAction.INCIDENT_VIEWED, incident_id=1)  # never anchored (its commit never comes)
    assert "intact up to #2" in verify()  # written just now: its anchor may still be on its way
    later = timezone.now() + timedelta(seconds=settings.AUDIT_ANCHOR_MAX_AGE_SECONDS + 5)
    with (
        time_machine.travel(later),
        pytest.raises(CommandError, match=rf"BROKEN at entry #{late.seq}: no anchor covers it") as failure,
    ):
        verify()
    assert "anchoring has stopped or the newest anchors are missing" in str(failure.value)


@pytest.mark.django_db
def test_without_any_anchor_verification_fails_with_debug_off_unless_told_no_anchors(settings):
    assert settings.DEBUG is False
    record(AuditAction.SIGN_IN)
    with pytest.raises(CommandError, match=r"No anchors at .*--no-anchors") as failure:
        verify()
    assert failure.value.returncode == 1
    with pytest.raises(CommandError, match="No anchors"):
        call_command("verify_audit", stdout=StringIO(), stderr=StringIO())
    refused = AuditEntry.objects.get(action=AuditAction.AUDIT_VERIFIED)
    assert (refused.data["ok"], refused.data["reason"]) == (False, "no anchors")

    output = verify("--no-anchors")
    assert "intact up to #2" in output and "--no-anchors: the chain is checked against itself only" in output

    settings.DEBUG = True  # local development: a warning only
    assert "warning: no anchors at" in verify()


@pytest.mark.django_db
def test_an_empty_chain_needs_no_anchor():
    assert "intact up to #0" in verify()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_configuration_anchors_by_itself(tmp_path):
    """`make run` for real: DEBUG=1, SQLite, no broker, runserver. A failed sign-in is anchored by
    the server process; cutting it from the database is then caught by verify_audit."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "AUDIT_ANCHOR_PATH", "EMAIL_URL", "SECRET_KEY"}
    }
    env |= {"DEBUG": "1", "BULWARK_VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "127.0.0.1", "HTTPS": "0"}
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login = f"http://127.0.0.1:{port}/accounts/login/"
        deadline = time.monotonic() + 60
        while True:
            try:
                page = opener.open(login, timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": "nobody@example.test", "password": "wrong"}
        request = urllib.request.Request(login, data=urllib.parse.urlencode(form).encode(), headers={"Referer": login})
        opener.open(request, timeout=10).read()

        database = tmp_path / "bulwark.sqlite3"
        with sqlite3.connect(database) as db:
            (head,) = db.execute("SELECT max(seq) FROM audit_auditentry").fetchone()
        assert head >= 1
        wait_for_anchor(head, tmp_path / "audit-anchors.jsonl")
    finally:
        server.terminate()
        server.wait(timeout=30)

    def verify_audit():
        return subprocess.run(
            [*manage, "verify_audit", "--no-record"], env=env, capture_output=True, text=True, timeout=120
        )

    assert verify_audit().returncode == 0
    with sqlite3.connect(database) as db:  # whoever can write the file drops the triggers
        for statement in triggers.uninstall_sql("sqlite"):
            db.execute(statement)
        db.execute("DELETE FROM audit_auditentry WHERE seq = ?", [head])
        for statement in triggers.install_sql("sqlite"):
            db.execute(statement)
    result = verify_audit()
    assert result.returncode == 1
    assert f"an anchor names entry #{head}" in result.stderr
