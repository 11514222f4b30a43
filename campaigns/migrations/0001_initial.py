"""Campaign, CampaignMember and AllowedNetwork, moved from incidents (incidents 0008): state
only, the tables keep their names.
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
                    name="AllowedNetwork",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "network",
                            core.fields.CardFreeCharField(
                                help_text="An address or a network: 198.51.100.0/24.", max_length=50, unique=True
                            ),
                        ),
                        (
                            "label",
                            core.fields.RedactedCharField(
                                help_text="Whose it is, e.g. 'Acme Ltd office'.", max_length=120
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "added_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_allowednetwork",
                        "ordering": ["network"],
                    },
                ),
                migrations.CreateModel(
                    name="Campaign",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("suspected", "Suspected"),
                                    ("confirmed", "Confirmed"),
                                    ("dismissed", "Dismissed"),
                                    ("merged", "Merged"),
                                ],
                                default="suspected",
                                max_length=10,
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        ("decision_reason", core.fields.RedactedTextField(blank=True)),
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
                            "decided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "merged_into",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="campaigns.campaign",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_campaign",
                        "ordering": ["-created_at", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="CampaignMember",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("reason", core.fields.RedactedCharField(max_length=500)),
                        ("matched_ip", models.GenericIPAddressField()),
                        ("joined_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("escalated_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "campaign",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="members",
                                to="campaigns.campaign",
                            ),
                        ),
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
                                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="incidents.incident"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_campaignmember",
                        "ordering": ["joined_at", "pk"],
                    },
                ),
                migrations.AddConstraint(
                    model_name="campaign",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("merged_into__isnull", False), ("status", "merged")),
                            models.Q(models.Q(("status", "merged"), _negated=True), ("merged_into", None)),
                            _connector="OR",
                        ),
                        name="campaign_merged_has_target",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="campaignmember",
                    constraint=models.UniqueConstraint(fields=("incident",), name="one_campaign_per_incident"),
                ),
            ],
            database_operations=[],
        ),
        # Their content types follow them, so their audit history does (audit/renames.py).
        move_content_types("incidents", "campaigns", ["AllowedNetwork", "Campaign", "CampaignMember"]),
    ]
