"""Database triggers that make the audit tables append-only, below the ORM.

The model already refuses update/delete, but raw SQL, another client or a bug in a library
would not go through it. These triggers reject UPDATE and DELETE on PostgreSQL and SQLite, and
TRUNCATE on PostgreSQL (a statement trigger). On PostgreSQL the triggers are ``ENABLE ALWAYS``,
so ``SET session_replication_role = replica`` (which any superuser session can do and which
switches ordinary triggers off) leaves them on.

What they cannot stop is the *owner* of a table, who may drop or disable a trigger: that is why
production runs web and worker as a role that does not own the audit tables (README, "Audit trail
and database roles"), and why the hash chain and its anchors exist — they make an owner's edit
detectable even when it cannot be prevented.

`suspended()` is that owner power, written down once: it disables the triggers inside one
transaction (PostgreSQL: ALTER TABLE ... DISABLE TRIGGER, which only the owner may run; SQLite:
dropping the triggers, which only whoever can write the file may do) and restores them before
the transaction ends. The test suite uses it so Django's `flush` can empty the tables between
transactional tests; the production triggers themselves carry no bypass.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection as default_connection
from django.db import transaction

APPEND_ONLY_TABLES = ("audit_auditentry", "auditlog_logentry")
_PG_FUNCTION = "bulwark_audit_refuse_change"


def _pg_row_trigger(table: str) -> str:
    return f"{table}_append_only"


def _pg_truncate_trigger(table: str) -> str:
    return f"{table}_no_truncate"


def _pg_install_sql(tables=APPEND_ONLY_TABLES) -> list[str]:
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    ]
    for table in tables:
        row, trunc = _pg_row_trigger(table), _pg_truncate_trigger(table)
        statements += [
            f'DROP TRIGGER IF EXISTS {row} ON "{table}"',
            f'CREATE TRIGGER {row} BEFORE UPDATE OR DELETE ON "{table}" FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()',
            f'DROP TRIGGER IF EXISTS {trunc} ON "{table}"',
            f'CREATE TRIGGER {trunc} BEFORE TRUNCATE ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()',
            # ALWAYS: fire even under session_replication_role = replica.
            f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER {row}',
            f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER {trunc}',
        ]
    return statements


def _pg_uninstall_sql(tables=APPEND_ONLY_TABLES) -> list[str]:
    statements = []
    for table in tables:
        statements += [
            f'DROP TRIGGER IF EXISTS {_pg_row_trigger(table)} ON "{table}"',
            f'DROP TRIGGER IF EXISTS {_pg_truncate_trigger(table)} ON "{table}"',
        ]
    return [*statements, f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()"]


def _sqlite_install_sql(tables=APPEND_ONLY_TABLES) -> list[str]:
    statements = []
    for table in tables:
        for op in ("UPDATE", "DELETE"):
            name = f"{table}_no_{op.lower()}"
            statements.append(
                f'CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, '{op} on {table} refused: the audit trail is append-only'); END"
            )
    return statements


def _sqlite_uninstall_sql(tables=APPEND_ONLY_TABLES) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_{op} " for table in tables for op in ("update", "delete")]


# Entries waiting for the sequencer: inserted by requests and deleted by the sequencer once chained,
# never changed in between, so what a request wrote is what gets hashed.
PENDING_TABLE = "audit_pendingentry"


def pending_install_sql(vendor: str) -> list[str]:
    name = f"{PENDING_TABLE}_no_update"
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS {name} ON "{PENDING_TABLE}"',
            f'CREATE TRIGGER {name} BEFORE UPDATE ON "{PENDING_TABLE}" FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()',
            f'ALTER TABLE "{PENDING_TABLE}" ENABLE ALWAYS TRIGGER {name}',
        ]
    return [
        f'CREATE TRIGGER IF NOT EXISTS {name} BEFORE UPDATE ON "{PENDING_TABLE}" '
        f"BEGIN SELECT RAISE(ABORT, 'UPDATE on {PENDING_TABLE} refused: a pending audit entry cannot change'); END"
    ]


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _pg_install_sql()
    if vendor == "sqlite":
        return _sqlite_install_sql()
    raise NotImplementedError(f"No append-only triggers for {vendor}: Bulwark runs on PostgreSQL or SQLite.")


def uninstall_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _pg_uninstall_sql()
    if vendor == "sqlite":
        return _sqlite_uninstall_sql()
    raise NotImplementedError(vendor)


# Privileges: whatever a deployment granted by default (e.g. ALTER DEFAULT PRIVILEGES ... GRANT
# ALL), no role but the owner keeps UPDATE, DELETE, TRUNCATE (or TRIGGER, REFERENCES) on the
# audit tables. Run by the migrations, as the owner.
_PG_REVOKE_TEMPLATE = """
DO $$
DECLARE
    grant_row record;
BEGIN
    FOR grant_row IN
        SELECT DISTINCT g.grantee, g.table_name
        FROM information_schema.role_table_grants g
        JOIN pg_class c ON c.relname = g.table_name AND c.relkind = 'r'
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = g.table_schema
        WHERE g.table_schema = current_schema()
          AND g.table_name IN ({tables})
          AND g.privilege_type IN ({privileges})
          AND g.grantee <> pg_get_userbyid(c.relowner)
    LOOP
        EXECUTE format(
            'REVOKE {revoked} ON TABLE %I FROM %s',
            grant_row.table_name,
            CASE WHEN grant_row.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(grant_row.grantee) END
        );
    END LOOP;
END;
$$
"""


def _pg_revoke_sql(tables: tuple[str, ...], privileges: tuple[str, ...]) -> str:
    return _PG_REVOKE_TEMPLATE.format(
        tables=", ".join(f"'{t}'" for t in tables),
        privileges=", ".join(f"'{p}'" for p in privileges),
        revoked=", ".join(privileges),
    )


_CHANGES = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
PG_REVOKE_SQL = _pg_revoke_sql(APPEND_ONLY_TABLES, _CHANGES)
# Tables only migrations write (as the owner): the application role may read them, not even
# insert. audit_formerlabel says which model label verify_audit accepts for which entries: a role
# that could add a row could make a renamed content type look legitimate.
OWNER_WRITTEN_TABLES = ("audit_formerlabel",)
PG_REVOKE_WRITES_SQL = _pg_revoke_sql(OWNER_WRITTEN_TABLES, ("INSERT", *_CHANGES))
# The sequencer deletes the pending entries it chained (as the application role); no one updates them.
PG_REVOKE_PENDING_SQL = _pg_revoke_sql((PENDING_TABLE,), ("UPDATE", "TRUNCATE", "TRIGGER", "REFERENCES"))


def revoke_changes_from_non_owners(connection=default_connection) -> None:
    """Take UPDATE/DELETE/TRUNCATE on the audit tables, and every write on the tables only
    migrations write, away from every role but the owner (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(PG_REVOKE_SQL)
            cursor.execute(PG_REVOKE_WRITES_SQL)
            cursor.execute(PG_REVOKE_PENDING_SQL)


@contextmanager
def suspended(connection=default_connection) -> Iterator[None]:
    """Owner maintenance only: the triggers are off inside this block and back on when it ends.

    Everything happens in one transaction, so the triggers are restored even if the block
    fails (the DDL is rolled back with it). The application role cannot run this: on
    PostgreSQL, ALTER TABLE ... DISABLE TRIGGER needs ownership of the table.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses while deferred FK checks of this transaction are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER {_pg_row_trigger(table)}')
                cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER {_pg_truncate_trigger(table)}')
            yield
            for table in APPEND_ONLY_TABLES:
                cursor.execute(f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER {_pg_row_trigger(table)}')
                cursor.execute(f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER {_pg_truncate_trigger(table)}')
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for statement in uninstall_sql(connection.vendor):
                cursor.execute(statement)
            yield
            for statement in install_sql(connection.vendor):
                cursor.execute(statement)
