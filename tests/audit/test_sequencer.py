"""AUDIT_SEQUENCER=background: requests leave entries pending, the sequencer chains them.

What must hold: every pending entry is chained exactly once, in one unbroken chain, whatever the
number of concurrent writers and even when the sequencer is killed mid-batch; entries waiting are
shown and counted, and verify_audit fails when one waits too long.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit import chain, sequencer
from audit.models import AuditAction, AuditEntry, PendingEntry
from audit.services import record
from audit.verification import verify_chain

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def background(settings):
    settings.AUDIT_SEQUENCER = "background"


def _chain_rows():
    return list(AuditEntry.objects.order_by("seq").values_list("seq", "prev_hash", "hash", "action", "data"))


def _assert_one_unbroken_chain(rows):
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    previous = chain.GENESIS_HASH
    for _seq, prev_hash, hash_, *_ in rows:
        assert prev_hash == previous
        previous = hash_


@pytest.mark.django_db
def test_a_request_only_inserts_a_pending_entry_and_the_sequencer_chains_it(tier1, background):
    before = AuditEntry.objects.count()
    written = record(AuditAction.INCIDENT_VIEWED, actor=tier1, incident_id=7, note="card 4111 1111 1111 1111")
    assert written.seq == 0 and written.hash == ""  # not chained yet
    assert AuditEntry.objects.count() == before
    assert PendingEntry.objects.get().data == {"note": "card [card number removed, ending 1111]"}

    assert sequencer.chain_pending() == 1
    assert not PendingEntry.objects.exists()
    entry = AuditEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.actor_id, entry.incident_id, entry.actor_label) == (
        AuditAction.INCIDENT_VIEWED,
        tier1.pk,
        7,
        tier1.email,
    )
    assert "4111" not in entry.data_text
    assert entry.created_at == written.created_at  # the time it was written, not chained
    assert entry.hash == chain.entry_hash(entry)
    assert verify_chain().ok


@pytest.mark.django_db
def test_pending_entries_are_chained_in_the_order_they_were_written(background):
    for n in range(30):
        record(AuditAction.NOTE_ADDED, n=n)
    assert sequencer.chain_pending(limit=12) == 12  # batches of a limited size...
    assert sequencer.chain_all() == 18  # ...until none is left
    rows = _chain_rows()
    _assert_one_unbroken_chain(rows)
    assert [data["n"] for *_, action, data in rows if action == AuditAction.NOTE_ADDED] == list(range(30))
    assert sequencer.chain_pending() == 0
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_rolled_back_request_leaves_nothing_to_chain(background):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(AuditAction.NOTE_ADDED, n=1)
        raise RuntimeError("the request failed")
    assert sequencer.chain_pending() == 0


@pytest.mark.django_db
def test_a_pending_entry_cannot_be_changed_before_it_is_chained(background):
    record(AuditAction.NOTE_ADDED, n=1)
    pending = PendingEntry.objects.get()
    with pytest.raises(DatabaseError, match="refused"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_pendingentry SET action = 'auth.sign_in' WHERE id = %s", [pending.pk])
    assert PendingEntry.objects.get().action == AuditAction.NOTE_ADDED


@pytest.mark.django_db
def test_verify_counts_waiting_entries_and_fails_when_one_waits_too_long(background, settings):
    settings.AUDIT_MAX_PENDING_SECONDS = 60
    record(AuditAction.NOTE_ADDED, n=1)
    out = StringIO()
    call_command("verify_audit", "--no-anchors", "--no-record", stdout=out, stderr=StringIO())
    assert "1 entries wait to be chained" in out.getvalue()

    with time_machine.travel(PendingEntry.objects.get().created_at + timedelta(seconds=61), tick=False):
        result = verify_chain(max_pending_age=timedelta(seconds=60))
        assert not result.ok and result.broken_seq is None and result.pending == 1
        with pytest.raises(CommandError) as failed:
            call_command("verify_audit", "--no-anchors", "--no-record", stdout=StringIO(), stderr=StringIO())
    assert failed.value.returncode == 1
    assert str(failed.value).startswith("Audit chain intact but NOT CURRENT: 1 entries are not chained yet")
    assert "is run_audit_sequencer running?" in str(failed.value)

    sequencer.chain_all()
    assert verify_chain(max_pending_age=timedelta(seconds=60)).ok


@pytest.mark.django_db
def test_a_field_change_whose_entry_waits_is_not_reported_as_written_outside_the_chain(
    supervisor_agent, customer, background
):
    from incidents.customers import change_customer

    change_customer(customer, actor=supervisor_agent, language="de")
    assert PendingEntry.objects.filter(action=AuditAction.MODEL_CHANGED).exists()
    assert verify_chain().ok  # the auditlog row is named by a pending entry
    sequencer.chain_all()
    assert verify_chain().ok


@pytest.mark.django_db
def test_the_viewer_shows_waiting_entries_first_marked_pending(verified_client, supervisor_agent, settings):
    client = verified_client(supervisor_agent)
    settings.AUDIT_SEQUENCER = "background"
    record(AuditAction.NOTE_ADDED, incident_id=4242, n=1)
    page = client.get("/audit/").content.decode()
    assert "waiting to be chained" in page
    assert '<tr class="audit-pending">' in page
    sequencer.chain_all()
    assert "waiting to be chained" not in client.get("/audit/").content.decode()


# --- PostgreSQL: many writers, and a sequencer killed mid-batch ------------------------------------

WRITERS, EACH = 8, 40


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_and_a_running_sequencer_make_one_chain(postgres, background):
    stop = threading.Event()
    errors = []

    def sequence():
        try:
            sequencer.run(interval=0.01, stop=stop.is_set)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    barrier = threading.Barrier(WRITERS)

    def append(writer):
        try:
            barrier.wait()
            for n in range(EACH):
                with transaction.atomic():
                    record(AuditAction.INCIDENT_VIEWED, incident_id=writer, n=n)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    runner = threading.Thread(target=sequence)
    runner.start()
    writers = [threading.Thread(target=append, args=(w,)) for w in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    deadline = time.monotonic() + 10
    while PendingEntry.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(10)

    assert errors == []
    rows = _chain_rows()
    _assert_one_unbroken_chain(rows)
    written = [(data["n"], seq) for seq, _p, _h, action, data in rows if action == AuditAction.INCIDENT_VIEWED]
    assert len(written) == WRITERS * EACH  # each chained once
    assert not PendingEntry.objects.exists()
    assert verify_chain().ok


def _sequencer_process(tmp_path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "AUDIT_SEQUENCER": "background",
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "sequencer.log").open("a")
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_audit_sequencer", "--interval", "0.05"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


@pytest.mark.django_db(transaction=True)
def test_a_sequencer_killed_mid_batch_loses_nothing_and_never_forks_the_chain(postgres, background, tmp_path):
    total = 30_000
    with connection.cursor() as cursor:  # many pending entries at once, so the kill lands mid-work
        cursor.execute(
            "INSERT INTO audit_pendingentry (created_at, action, actor_label, target_type, target_id, "
            "user_agent, request_id, data) SELECT now(), 'incident.viewed', '', '', '', '', '', "
            "jsonb_build_object('n', n) FROM generate_series(1, %s) AS n",
            [total],
        )
    first = _sequencer_process(tmp_path)
    deadline = time.monotonic() + 60
    while not AuditEntry.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)  # after its first batch, before the last
    first.wait(10)
    chained_before_restart = AuditEntry.objects.count()
    assert 0 < chained_before_restart < total

    second = _sequencer_process(tmp_path)
    try:
        deadline = time.monotonic() + 120
        while PendingEntry.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    rows = _chain_rows()
    _assert_one_unbroken_chain(rows)
    assert sorted(data["n"] for *_, data in rows) == list(range(1, total + 1))  # each once, none lost
    assert verify_chain().ok
    with connection.cursor() as cursor:  # the killed process's session is gone before the flush
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            cursor.execute(sql)
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.1)
