"""NotificationRule, DataBreach and BreachObligation, moved from incidents (incidents 0008):
state only, the tables keep their names.
"""

import core.fields
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from audit.renames import move_content_types


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("audit", "0007_former_labels"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("incidents", "0008_models_moved_to_their_apps"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="NotificationRule",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("code", core.fields.CardFreeSlugField(max_length=40, unique=True)),
                        ("jurisdiction", core.fields.RedactedCharField(max_length=60)),
                        ("title", core.fields.RedactedCharField(max_length=120)),
                        ("notify", core.fields.RedactedCharField(help_text="Whom to notify.", max_length=120)),
                        (
                            "hours",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="Elapsed hours from awareness (days x 24). Empty: without undue delay.",
                                null=True,
                            ),
                        ),
                        (
                            "target_hours",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="For “without undue delay”: the internal target the countdown shows.",
                                null=True,
                            ),
                        ),
                        (
                            "high_risk_only",
                            models.BooleanField(default=False, help_text="Only when the risk to the people is high."),
                        ),
                        (
                            "is_example",
                            models.BooleanField(default=True, help_text="An example to be checked by counsel."),
                        ),
                        ("active", models.BooleanField(default=True)),
                        ("source", core.fields.RedactedCharField(blank=True, max_length=200)),
                    ],
                    options={
                        "db_table": "incidents_notificationrule",
                        "ordering": ["jurisdiction", "code"],
                    },
                ),
                migrations.CreateModel(
                    name="DataBreach",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "aware_at",
                            models.DateTimeField(help_text="When the organization became aware of the breach."),
                        ),
                        ("jurisdictions", core.fields.RedactedJSONField(default=list)),
                        (
                            "high_risk",
                            models.BooleanField(
                                default=False, help_text="High risk to the rights and freedoms of the people."
                            ),
                        ),
                        ("description", core.fields.RedactedTextField(blank=True)),
                        ("marked_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "incident",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="data_breach",
                                to="incidents.incident",
                            ),
                        ),
                        (
                            "marked_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_databreach",
                        "ordering": ["-aware_at", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="BreachObligation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("due_at", models.DateTimeField(help_text="UTC; the rule's elapsed hours after awareness.")),
                        ("warn_at", models.DateTimeField()),
                        ("met_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "met_how",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("portal", "Authority's online form"),
                                    ("email", "Email"),
                                    ("letter", "Letter"),
                                    ("phone", "Phone"),
                                    ("public", "Public notice"),
                                    ("not_required", "Assessed: not required"),
                                    ("other", "Other"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("met_note", core.fields.RedactedTextField(blank=True)),
                        (
                            "met_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "breach",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="obligations",
                                to="breaches.databreach",
                            ),
                        ),
                        (
                            "rule",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="breaches.notificationrule",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_breachobligation",
                        "ordering": ["due_at", "pk"],
                        "indexes": [models.Index(fields=["met_at", "warn_at"], name="obligation_clock")],
                        "constraints": [
                            models.UniqueConstraint(fields=("breach", "rule"), name="one_obligation_per_rule")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        # Their content types follow them, so their audit history does (audit/renames.py).
        move_content_types("incidents", "breaches", ["NotificationRule", "DataBreach", "BreachObligation"]),
    ]
