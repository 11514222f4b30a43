"""Bring the django-auditlog rows written before this version into the chain.

From now on every LogEntry gets its chained `model.changed` entry as it is written
(audit.registry). The rows already there get theirs here, appended after the current head with
`audit.bulk.append_generated` (raw SQL, under the chain lock) and marked `backfilled`: the chain
vouches for them from this migration on, not for what happened to them before.
"""

from django.db import migrations
from django.utils import timezone

BATCH = 2000


def chain_existing_log_entries(apps, schema_editor):
    from auditlog.models import LogEntry

    from audit import chain
    from audit.bulk import GeneratedEntry, append_generated
    from audit.models import AuditAction, AuditEntry
    from audit.registry import field_change_data, logentry_model_label

    named = {
        int(pk)
        for pk in AuditEntry.objects.filter(
            action=AuditAction.MODEL_CHANGED, target_type="auditlog.logentry"
        ).values_list("target_id", flat=True)
    }
    after = 0
    while True:
        rows = list(LogEntry.objects.filter(id__gt=after).order_by("id").values(*chain.LOGENTRY_FIELDS)[:BATCH])
        if not rows:
            break
        entries = []
        for row in rows:
            after = row["id"]
            if row["id"] in named:
                continue
            label = logentry_model_label(LogEntry(content_type_id=row["content_type_id"]))
            entries.append(
                GeneratedEntry(
                    created_at=timezone.now(),
                    action=AuditAction.MODEL_CHANGED.value,
                    actor_id=row["actor_id"],
                    actor_label=row["actor_email"] or "",
                    target_type="auditlog.logentry",
                    target_id=str(row["id"]),
                    data=field_change_data(row, label) | {"backfilled": True},
                )
            )
        append_generated(entries)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_drop_single_column_indexes"),
        ("auditlog", "0017_add_actor_email"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(chain_existing_log_entries, migrations.RunPython.noop)]
