"""Database triggers that reject UPDATE/DELETE (and TRUNCATE on PostgreSQL) on the audit tables.

The SQL lives in audit/triggers.py so that the migration, the tests and the documentation
describe the same triggers. Vendor-aware: PostgreSQL and SQLite are the two supported databases.
"""

from django.db import migrations

from audit import triggers


def install(apps, schema_editor):
    for statement in triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)
    triggers.revoke_changes_from_non_owners(schema_editor.connection)


def uninstall(apps, schema_editor):
    for statement in triggers.uninstall_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
