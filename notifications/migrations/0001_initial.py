"""CustomerUpdate, moved from incidents (incidents 0008): state only, the table keeps its name."""

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
                    name="CustomerUpdate",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("template", models.CharField(max_length=32)),
                        (
                            "language",
                            models.CharField(
                                choices=[
                                    ("en", "English"),
                                    ("de", "Deutsch"),
                                    ("pl", "Polski"),
                                    ("nb", "Norsk bokmål"),
                                    ("fa", "فارسی"),
                                ],
                                max_length=2,
                            ),
                        ),
                        ("recipient", core.fields.CardFreeEmailField(max_length=254)),
                        ("subject", core.fields.RedactedCharField(blank=True, max_length=200)),
                        ("body_text", core.fields.RedactedTextField(blank=True)),
                        ("body_html", core.fields.RedactedTextField(blank=True)),
                        (
                            "context",
                            core.fields.RedactedJSONField(
                                blank=True, default=dict, help_text="Template variables (never a secret)."
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=8,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("last_error", core.fields.RedactedTextField(blank=True)),
                        ("message_id", models.CharField(blank=True, max_length=200)),
                        ("idempotency_key", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "customer",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="account_notices",
                                to="incidents.customer",
                            ),
                        ),
                        (
                            "incident",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="customer_updates",
                                to="incidents.incident",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_customerupdate",
                        "ordering": ["created_at", "pk"],
                        "indexes": [models.Index(fields=["status", "updated_at"], name="customer_update_status")],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("incident__isnull", False), ("customer__isnull", False), _connector="OR"
                                ),
                                name="customer_update_has_subject",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        # Their content types follow them, so their audit history does (audit/renames.py).
        move_content_types("incidents", "notifications", ["CustomerUpdate"]),
    ]
