"""verify_audit proves the chain intact, and names the first entry an owner altered or removed,
even when the whole chain was rewritten with fresh hashes (thanks to the anchors)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit import anchors, chain, tasks, triggers
from audit.models import AuditAction, AuditEntry
from audit.services import record

pytestmark = pytest.mark.django_db


def verify(*args):
    out, err = StringIO(), StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def make_chain(n=5):
    return [record(AuditAction.INCIDENT_VIEWED, incident_id=i) for i in range(1, n + 1)]


def owner_sql(sql, params=()):
    """What a database owner can do despite the triggers: switch them off, change rows, switch them on."""
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def rewrite_chain_from(seq, **changes):
    """Change entry `seq` and recompute every hash after it, as a careful forger would."""
    with triggers.suspended(connection), connection.cursor() as cursor:
        prev = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else chain.GENESIS_HASH
        for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
            if entry.seq == seq:
                for name, value in changes.items():
                    setattr(entry, name, value)
            entry.prev_hash = prev
            entry.hash = chain.entry_hash(entry)
            cursor.execute(
                "UPDATE audit_auditentry SET action = %s, data = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [entry.action, json.dumps(entry.data), entry.prev_hash, entry.hash, entry.pk],
            )
            prev = entry.hash


def test_an_intact_chain_verifies_and_the_run_is_recorded_afterwards():
    make_chain(5)
    tasks.anchor_chain_head.apply()
    output = verify()
    assert "Checked 5 entries, 0 field changes and 1 anchors" in output
    assert "entries/s" in output
    assert "intact up to #5" in output
    run = AuditEntry.objects.get(action=AuditAction.AUDIT_VERIFIED)
    assert run.seq == 6
    assert run.data["ok"] is True and run.data["entries_checked"] == 5
    assert "Checked 6 entries" in verify()  # the recorded run is itself part of the chain


def test_one_altered_row_is_named_with_its_sequence_number():
    entries = make_chain(5)
    owner_sql("UPDATE audit_auditentry SET incident_id = 99 WHERE id = %s", [entries[2].pk])
    with pytest.raises(CommandError, match=r"BROKEN at entry #3: its content does not match its hash") as failure:
        verify()
    assert failure.value.returncode == 1
    failed_run = AuditEntry.objects.get(action=AuditAction.AUDIT_VERIFIED)
    assert (failed_run.data["ok"], failed_run.data["broken_seq"]) == (False, 3)


def test_a_removed_row_is_named():
    entries = make_chain(5)
    owner_sql("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    with pytest.raises(CommandError, match=r"BROKEN at entry #2: entry #2 is missing"):
        verify("--no-record")


def test_a_consistently_rewritten_chain_is_caught_by_the_anchors():
    make_chain(3)
    tasks.anchor_chain_head.apply()
    make_chain(2)
    rewrite_chain_from(2, data={"note": "forged"})
    with pytest.raises(CommandError, match=r"BROKEN at entry #3: .*differs from the anchor"):
        verify("--no-record")
    # Without its anchors the forgery would have passed: that is what the anchors are for.
    assert "intact up to #5" in verify("--no-record", "--no-anchors")


def test_entries_cut_from_the_end_are_caught_by_the_anchors():
    entries = make_chain(4)
    tasks.anchor_chain_head.apply()
    owner_sql("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].pk])
    with pytest.raises(CommandError, match=r"chain ends at #3 but an anchor names entry #4"):
        verify("--no-record")


def test_anchors_are_appended_as_json_lines_and_an_empty_chain_writes_none(settings):
    assert anchors.write_anchor() is None
    make_chain(2)
    first = anchors.write_anchor()
    record(AuditAction.SIGN_IN)
    second = anchors.write_anchor()
    lines = anchors.anchor_path().read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [2, 3]
    assert list(anchors.read_anchors()) == [first, second]


def test_with_a_broker_beat_anchors_the_head_every_30_seconds_too(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["audit-anchor-chain-head"]
    assert entry["schedule"] <= 30
    assert entry["task"] in app.tasks
