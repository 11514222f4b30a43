"""The resolve clock's start column, and due times for what was already open when the SLA clocks
shipped (0002 added the columns but left them empty: no clock, no alert, no colour)."""

from datetime import timedelta

from django.db import migrations, models

# The shipped policies of 0002 (first update, claim, resolve minutes), for a severity without a row.
DEFAULTS = {4: (15, 15, 24 * 60), 3: (30, 30, 3 * 24 * 60), 2: (2 * 60, 4 * 60, 5 * 24 * 60), 1: (8 * 60, 24 * 60, 10 * 24 * 60)}
DEFAULT_WARN_PERCENT = 75


def _window(start, minutes, warn_percent):
    allowance = timedelta(minutes=minutes)
    return start + allowance, start + allowance * warn_percent / 100


def fill_due_times(apps, schema_editor):
    SlaPolicy = apps.get_model("incidents", "SlaPolicy")
    Incident = apps.get_model("incidents", "Incident")
    Escalation = apps.get_model("incidents", "Escalation")
    policies = {
        severity: (first_update, claim, resolve, DEFAULT_WARN_PERCENT)
        for severity, (first_update, claim, resolve) in DEFAULTS.items()
    }
    for p in SlaPolicy.objects.all():
        policies[p.severity] = (p.first_update_minutes, p.claim_minutes, p.resolve_minutes, p.warn_percent)
    fields = ["first_update_due_at", "first_update_warn_at", "resolve_due_at", "resolve_warn_at", "clock_started_at"]
    for incident in Incident.objects.filter(status="open", resolve_due_at__isnull=True).iterator():
        first_update, _, resolve, warn = policies[incident.severity]
        incident.clock_started_at = incident.clock_started_at or incident.created_at
        incident.first_update_due_at, incident.first_update_warn_at = _window(incident.created_at, first_update, warn)
        incident.resolve_due_at, incident.resolve_warn_at = _window(incident.clock_started_at, resolve, warn)
        incident.save(update_fields=fields)
    for escalation in Escalation.objects.filter(status="open", claim_due_at__isnull=True).iterator():
        _, claim, _, warn = policies[escalation.severity]
        escalation.claim_due_at, escalation.claim_warn_at = _window(escalation.requested_at, claim, warn)
        escalation.save(update_fields=["claim_due_at", "claim_warn_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_merge_speed_at_scale"),
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
        migrations.RunPython(fill_due_times, migrations.RunPython.noop),
    ]
