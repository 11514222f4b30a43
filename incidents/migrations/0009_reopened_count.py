"""Which run of the playbook an incident is in, kept on the incident (it was counted from the
audit trail's reopen entries on every once-per-run email). Filled from those entries once."""

from django.db import migrations, models
from django.db.models import Count


def fill(apps, schema_editor):
    Incident = apps.get_model("incidents", "Incident")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    reopens = (
        AuditEntry.objects.filter(action="incident.reopened", incident_id__isnull=False)
        .values("incident_id")
        .annotate(n=Count("seq"))
    )
    for row in reopens.iterator():
        Incident.objects.filter(pk=row["incident_id"]).update(reopened_count=row["n"])


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_models_moved_to_their_apps"),
        ("audit", "0008_reinstall_sqlite_triggers"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="reopened_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
