from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0003_merge_0002_campaigns_0002_sla_clocks"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="clock_started_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Start of the resolve clock: opened, or reopened last (empty: opened).",
                null=True,
            ),
        ),
    ]
