"""The outbox, campaigns, breaches and SLA alerts moved to their own apps (notifications,
campaigns, breaches, alerts). State only: the tables keep their names and rows, so the
PostgreSQL triggers, the search index and every row stay as they were.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_card_numbers_at_storage"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="breachobligation",
                    name="breach",
                ),
                migrations.RemoveField(
                    model_name="breachobligation",
                    name="met_by",
                ),
                migrations.RemoveField(
                    model_name="breachobligation",
                    name="rule",
                ),
                migrations.RemoveField(
                    model_name="slaalert",
                    name="obligation",
                ),
                migrations.RemoveField(
                    model_name="campaign",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="campaign",
                    name="decided_by",
                ),
                migrations.RemoveField(
                    model_name="campaign",
                    name="merged_into",
                ),
                migrations.RemoveField(
                    model_name="campaignmember",
                    name="campaign",
                ),
                migrations.RemoveField(
                    model_name="campaignmember",
                    name="escalation",
                ),
                migrations.RemoveField(
                    model_name="campaignmember",
                    name="incident",
                ),
                migrations.RemoveField(
                    model_name="customerupdate",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="customerupdate",
                    name="customer",
                ),
                migrations.RemoveField(
                    model_name="customerupdate",
                    name="incident",
                ),
                migrations.RemoveField(
                    model_name="databreach",
                    name="incident",
                ),
                migrations.RemoveField(
                    model_name="databreach",
                    name="marked_by",
                ),
                migrations.RemoveField(
                    model_name="slaalert",
                    name="escalation",
                ),
                migrations.RemoveField(
                    model_name="slaalert",
                    name="incident",
                ),
                migrations.DeleteModel(
                    name="AllowedNetwork",
                ),
                migrations.DeleteModel(
                    name="NotificationRule",
                ),
                migrations.DeleteModel(
                    name="BreachObligation",
                ),
                migrations.DeleteModel(
                    name="Campaign",
                ),
                migrations.DeleteModel(
                    name="CampaignMember",
                ),
                migrations.DeleteModel(
                    name="CustomerUpdate",
                ),
                migrations.DeleteModel(
                    name="DataBreach",
                ),
                migrations.DeleteModel(
                    name="SlaAlert",
                ),
            ],
            database_operations=[],
        ),
    ]
