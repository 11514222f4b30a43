"""Drop the single-column indexes of action, actor, incident_id and customer_id: the (column, -seq)
indexes serve the same lookups, and every index is written on each append, inside the chain lock.

Only the indexes are dropped (plain DROP INDEX): altering the fields through the schema editor
would rebuild the table on SQLite and lose its append-only triggers.
"""

from django.conf import settings
from django.db import migrations, models

DROPPED = {
    # index name -> (columns) to recreate on the way back
    "audit_auditentry_action_dee621eb": "action",
    "audit_auditentry_actor_id_8ab278be": "actor_id",
    "audit_auditentry_incident_id_a05174d5": "incident_id",
    "audit_auditentry_customer_id_582286f6": "customer_id",
}
PG_LIKE = "audit_auditentry_action_dee621eb_like"  # PostgreSQL only: LIKE on action, never used


def drop(apps, schema_editor):
    names = [*DROPPED, PG_LIKE] if schema_editor.connection.vendor == "postgresql" else list(DROPPED)
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def recreate(apps, schema_editor):
    for name, column in DROPPED.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "audit_auditentry" ("{column}")')
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{PG_LIKE}" ON "audit_auditentry" ("action" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_viewer_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, recreate)],
            state_operations=[
                migrations.AlterField(model_name="auditentry", name="action", field=models.CharField(max_length=64)),
                migrations.AlterField(
                    model_name="auditentry",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="auditentry", name="incident_id", field=models.BigIntegerField(blank=True, null=True)
                ),
                migrations.AlterField(
                    model_name="auditentry", name="customer_id", field=models.BigIntegerField(blank=True, null=True)
                ),
            ],
        )
    ]
