import pytest

from audit import chain
from audit.models import AuditAction, AuditEntry
from audit.services import record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_entries_link_to_the_previous_hash_in_sequence():
    first = record(AuditAction.SIGN_IN)
    actor = UserFactory()  # its auditlog entry is chained too: entry #2
    second = record(AuditAction.INCIDENT_VIEWED, actor=actor, incident_id=7, note="éü")
    assert (first.seq, second.seq) == (1, 3)
    assert first.prev_hash == chain.GENESIS_HASH
    assert AuditEntry.objects.get(seq=2).prev_hash == first.hash
    assert second.prev_hash == AuditEntry.objects.get(seq=2).hash
    stored = AuditEntry.objects.get(pk=second.pk)
    assert chain.entry_hash(stored) == stored.hash


def test_the_model_refuses_update_and_delete():
    entry = record(AuditAction.SIGN_IN)
    with pytest.raises(TypeError, match="append-only"):
        entry.save()
    with pytest.raises(TypeError, match="append-only"):
        entry.delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.all().delete()
