"""Install the append-only triggers again where a table rebuild dropped them.

On SQLite, 0006's AlterFields rebuild audit_auditentry (CREATE new table, copy, DROP old), and a
dropped table takes its triggers with it: since 0006 the embedded default's audit table accepted
UPDATE and DELETE. The install statements are idempotent (CREATE TRIGGER IF NOT EXISTS on SQLite,
DROP ... IF EXISTS then CREATE on PostgreSQL), so running them again is safe everywhere.
Any later migration that alters an audit table on SQLite must end the same way.
"""

from django.db import migrations

from audit import triggers


def install(apps, schema_editor):
    for statement in triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_former_labels")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
