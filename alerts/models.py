"""Alerts that a clock is about to run out or ran out: SLA clocks of incidents and escalations,
and the deadlines of breach-notification duties."""

from django.db import models
from django.utils import timezone

from incidents.models import Team


class SlaClock(models.TextChoices):
    FIRST_UPDATE = "first_update", "First customer update"
    CLAIM = "claim", "Claim of the escalation"
    RESOLVE = "resolve", "Resolution"
    NOTIFICATION = "notification", "Breach notification"


class AlertKind(models.TextChoices):
    WARNING = "warning", "About to run out"
    BREACHED = "breached", "Ran out"


class SlaAlert(models.Model):
    """One notification that a clock is about to run out or ran out: the unique key makes it once."""

    key = models.CharField(max_length=80, unique=True)
    clock = models.CharField(max_length=16, choices=SlaClock.choices)
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    team = models.CharField(max_length=10, choices=Team.choices)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="sla_alerts")
    escalation = models.ForeignKey(
        "incidents.Escalation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    obligation = models.ForeignKey(
        "breaches.BreachObligation", null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "incidents_slaalert"  # moved here from incidents; the table kept its name
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="sla_alert_team"),
            models.Index(fields=["emailed_at"], name="sla_alert_unsent"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.get_clock_display()} of {self.incident}"
