"""Personal-data breaches: the notification duties of each jurisdiction, the breach of an
incident and its duties with their deadlines."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.fields import CardFreeSlugField, RedactedCharField, RedactedJSONField, RedactedTextField


class NotificationRule(models.Model):
    """A breach-notification duty of one jurisdiction (data, editable in the admin)."""

    code = CardFreeSlugField(max_length=40, unique=True)
    jurisdiction = RedactedCharField(max_length=60)
    title = RedactedCharField(max_length=120)
    notify = RedactedCharField(max_length=120, help_text="Whom to notify.")
    hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Elapsed hours from awareness (days x 24). Empty: without undue delay."
    )
    target_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="For “without undue delay”: the internal target the countdown shows."
    )
    high_risk_only = models.BooleanField(default=False, help_text="Only when the risk to the people is high.")
    is_example = models.BooleanField(default=True, help_text="An example to be checked by counsel.")
    active = models.BooleanField(default=True)
    source = RedactedCharField(max_length=200, blank=True)

    class Meta:
        db_table = "incidents_notificationrule"  # moved here from incidents; the table kept its name
        ordering = ["jurisdiction", "code"]

    def __str__(self):
        return f"{self.jurisdiction}: {self.title}"

    @property
    def period_label(self) -> str:
        if self.hours is None:
            target = f" (our target: {self.target_hours} h)" if self.target_hours else ""
            return f"without undue delay{target}"
        if self.hours % 24 == 0 and self.hours >= 24 * 7:
            return f"{self.hours // 24} days"
        return f"{self.hours} hours"


class DataBreach(models.Model):
    """The incident is a personal-data breach: when the organization became aware, and where."""

    incident = models.OneToOneField("incidents.Incident", on_delete=models.PROTECT, related_name="data_breach")
    aware_at = models.DateTimeField(help_text="When the organization became aware of the breach.")
    jurisdictions = RedactedJSONField(default=list)
    high_risk = models.BooleanField(default=False, help_text="High risk to the rights and freedoms of the people.")
    description = RedactedTextField(blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "incidents_databreach"  # moved here from incidents; the table kept its name
        ordering = ["-aware_at", "-pk"]

    def __str__(self):
        return f"Personal-data breach on {self.incident}"


class MetHow(models.TextChoices):
    PORTAL = "portal", "Authority's online form"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    PHONE = "phone", "Phone"
    PUBLIC = "public", "Public notice"
    NOT_REQUIRED = "not_required", "Assessed: not required"
    OTHER = "other", "Other"


class BreachObligation(models.Model):
    """One notification duty of a breach, with its deadline, and how and when it was met."""

    breach = models.ForeignKey(DataBreach, on_delete=models.PROTECT, related_name="obligations")
    rule = models.ForeignKey(NotificationRule, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(help_text="UTC; the rule's elapsed hours after awareness.")
    warn_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    met_how = models.CharField(max_length=16, choices=MetHow.choices, blank=True)
    met_note = RedactedTextField(blank=True)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "incidents_breachobligation"  # moved here from incidents; the table kept its name
        ordering = ["due_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["breach", "rule"], name="one_obligation_per_rule")]
        indexes = [models.Index(fields=["met_at", "warn_at"], name="obligation_clock")]

    def __str__(self):
        return f"{self.rule} for {self.breach.incident}"

    @property
    def outcome(self) -> str:
        """met / late / open (for the report)."""
        if self.met_at is None:
            return "open"
        return "met" if self.met_at <= self.due_at else "late"
