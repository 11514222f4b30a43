"""The database itself refuses to change or remove audit rows, whatever client asks."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction

from audit import triggers
from audit.models import AuditAction, AuditEntry
from audit.services import record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _raw(sql, params=()):
    """Run one statement in a savepoint, so a refusal leaves the test transaction usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Rows inserted by this test have deferred FK checks pending, and PostgreSQL refuses
            # TRUNCATE/ALTER TABLE then, before any trigger runs; a fresh session has none.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)


def _auditlog_row():
    from auditlog.models import LogEntry

    user = UserFactory()
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(user),
        object_pk=str(user.pk),
        object_repr="x",
        action=LogEntry.Action.UPDATE,
    )


@pytest.mark.parametrize("table", triggers.APPEND_ONLY_TABLES)
def test_raw_update_and_delete_are_refused_by_the_database(table):
    pk = record(AuditAction.SIGN_IN).pk if table == "audit_auditentry" else _auditlog_row().pk
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f'UPDATE "{table}" SET id = id WHERE id = %s', [pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f'DELETE FROM "{table}" WHERE id = %s', [pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f'DELETE FROM "{table}"')
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}" WHERE id = %s', [pk])
        assert cursor.fetchone() == (1,)


@pytest.mark.parametrize("table", triggers.APPEND_ONLY_TABLES)
def test_truncate_is_refused_on_postgresql(postgres, table):
    record(AuditAction.SIGN_IN)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f'TRUNCATE "{table}" CASCADE')


def test_replica_mode_does_not_switch_the_triggers_off(postgres):
    entry = record(AuditAction.SIGN_IN)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        with pytest.raises(DatabaseError, match="append-only"):
            _raw("UPDATE audit_auditentry SET action = 'auth.sign_out' WHERE id = %s", [entry.pk])
        with pytest.raises(DatabaseError, match="append-only"):
            _raw("TRUNCATE audit_auditentry")


def test_inserts_still_work_and_only_an_owner_can_suspend_the_triggers():
    entry = record(AuditAction.SIGN_IN)
    with triggers.suspended(connection):
        _raw("UPDATE audit_auditentry SET action = 'auth.sign_out' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditentry SET action = 'auth.sign_in' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "auth.sign_out"


@pytest.mark.django_db(transaction=True)
def test_transactional_tests_can_still_be_flushed_between_tests():
    """pytest-django empties the tables after this test; conftest lets that flush through."""
    record(AuditAction.SIGN_IN)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditentry")
