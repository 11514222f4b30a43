"""SlaAlert, moved from incidents (incidents 0008): state only, the table keeps its name."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from audit.renames import move_content_types


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("audit", "0007_former_labels"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("breaches", "0001_initial"),
        ("incidents", "0008_models_moved_to_their_apps"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SlaAlert",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=80, unique=True)),
                        (
                            "clock",
                            models.CharField(
                                choices=[
                                    ("first_update", "First customer update"),
                                    ("claim", "Claim of the escalation"),
                                    ("resolve", "Resolution"),
                                    ("notification", "Breach notification"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[("warning", "About to run out"), ("breached", "Ran out")], max_length=10
                            ),
                        ),
                        (
                            "team",
                            models.CharField(
                                choices=[("tier1", "Tier 1"), ("tier2", "Tier 2"), ("security", "Security team")],
                                max_length=10,
                            ),
                        ),
                        ("due_at", models.DateTimeField()),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("emailed_at", models.DateTimeField(blank=True, null=True)),
                        ("email_attempts", models.PositiveSmallIntegerField(default=0)),
                        (
                            "escalation",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="incidents.escalation",
                            ),
                        ),
                        (
                            "incident",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="sla_alerts",
                                to="incidents.incident",
                            ),
                        ),
                        (
                            "obligation",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="alerts",
                                to="breaches.breachobligation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_slaalert",
                        "ordering": ["-created_at", "-pk"],
                        "indexes": [
                            models.Index(fields=["team", "-created_at"], name="sla_alert_team"),
                            models.Index(fields=["emailed_at"], name="sla_alert_unsent"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        # Their content types follow them, so their audit history does (audit/renames.py).
        move_content_types("incidents", "alerts", ["SlaAlert"]),
    ]
