"""On PostgreSQL, the application's role holds only SELECT and INSERT on the audit tables:
even with the triggers switched off, it cannot change or remove an entry."""

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from audit import triggers
from audit.models import AuditAction, AuditEntry
from audit.services import record


def _as_role(role, sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(sql, params)


@pytest.mark.parametrize("table", triggers.APPEND_ONLY_TABLES)
def test_app_role_cannot_update_delete_or_truncate_audit_rows_even_without_triggers(postgres, table):
    role = f"bulwark_test_app_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide; rolled back with the test
    entry = record(AuditAction.SIGN_IN)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        # As careless as a deployment can be: everything on every table...
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        # ...then what every migrate does, and the triggers off, as an owner could.
        triggers.revoke_changes_from_non_owners(connection)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name in triggers.APPEND_ONLY_TABLES:
            cursor.execute(f'ALTER TABLE "{name}" DISABLE TRIGGER ALL')

    for sql in (f'UPDATE "{table}" SET id = id', f'DELETE FROM "{table}"', f'TRUNCATE "{table}"'):
        with pytest.raises(DatabaseError, match="permission denied"):
            _as_role(role, sql)

    # Reading and appending still work for the role.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        appended = record(AuditAction.SIGN_OUT)
    assert appended.prev_hash == entry.hash
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
