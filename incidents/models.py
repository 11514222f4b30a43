"""Incidents and the records each playbook step leaves behind.

Workflow lives in playbook.py (the rules) and services.py (the moves); models hold data
and invariants only.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone


class Language(models.TextChoices):
    EN = "en", "English"
    DE = "de", "Deutsch"
    PL = "pl", "Polski"
    NB = "nb", "Norsk bokmål"
    FA = "fa", "فارسی"


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"


class Severity(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    CRITICAL = 4, "Critical"


class Team(models.TextChoices):
    TIER1 = "tier1", "Tier 1"
    TIER2 = "tier2", "Tier 2"
    SECURITY = "security", "Security team"


class Stage(models.TextChoices):
    CONFIRM = "confirm", "1 · Confirm"
    SECURE = "secure", "2 · Secure"
    INVESTIGATE = "investigate", "3 · Investigate"
    ESCALATE = "escalate", "4 · Escalate?"
    COMMUNICATE = "communicate", "5 · Communicate"
    POST_INCIDENT = "post_incident", "6 · Resolve"
    CLOSED = "closed", "Closed"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    NOT_CONFIRMED = "not_confirmed", "Closed, not confirmed"


class PasswordAdvice(models.TextChoices):
    PENDING = "", "Not yet asked"
    DONE = "done", "Customer changed the password"
    DECLINED = "declined", "Customer declined"


class CustomerTwoFactor(models.TextChoices):
    PENDING = "", "Not yet asked"
    ALREADY_ON = "already_on", "Already on"
    ENABLED_NOW = "enabled_now", "Enabled now"
    DECLINED = "declined", "Customer declined"


class Customer(models.Model):
    """The account holder. Minimal personal data: enough to reach and identify them."""

    display_name = models.CharField(max_length=120)
    email = models.EmailField(help_text="Address of record: verification codes and updates go here.")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    account_reference = models.CharField(
        max_length=64, unique=True, help_text="The customer's account or service name in our systems."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["display_name"]
        indexes = [
            models.Index(fields=["email"], name="customer_email"),
            # Stage 1 of caller verification looks customers up case-insensitively (iexact).
            models.Index(Upper("email"), name="customer_email_upper"),
            models.Index(Upper("account_reference"), name="customer_reference_upper"),
        ]

    def __str__(self):
        return f"{self.display_name} ({self.account_reference})"


class Incident(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="incidents")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    summary = models.TextField()
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.CONFIRM)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    team = models.CharField(max_length=10, choices=Team.choices, default=Team.TIER1)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_incidents"
    )
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock: bumped by every change.")
    restricted = models.BooleanField(default=False, help_text="Visible to the security team and supervisors only.")

    # Step 1 ends early when nothing unauthorized happened.
    not_confirmed_reason = models.TextField(blank=True)
    # Step 2: securing checklist.
    password_advice = models.CharField(max_length=10, choices=PasswordAdvice.choices, blank=True)
    password_advice_at = models.DateTimeField(null=True, blank=True)
    customer_two_factor = models.CharField(max_length=12, choices=CustomerTwoFactor.choices, blank=True)
    customer_two_factor_at = models.DateTimeField(null=True, blank=True)
    # Step 3.
    findings = models.TextField(blank=True)
    # Step 4.
    no_escalation_reason = models.TextField(blank=True)
    # Step 6.
    resolution_summary = models.TextField(blank=True)
    measures_taken = models.TextField(blank=True)
    advice_given = models.TextField(blank=True)

    # Full-text search over the customer (name, account reference, email) and the summary, kept
    # current by a PostgreSQL trigger (migration 0002) whatever writes the row: services, bulk
    # loads, the admin, or a customer renamed later. Unused (NULL) on SQLite, which searches with
    # icontains instead. Not registered with auditlog: it repeats personal data.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Lists are newest first and paged by (created_at, id): one range scan, at any depth.
            models.Index(fields=["-created_at", "-id"], name="incident_created_keyset"),
            models.Index(fields=["status", "-created_at"], name="incident_status_created"),
            models.Index(fields=["assignee", "status"], name="incident_assignee_status"),
            models.Index(fields=["stage"], name="incident_stage"),
            GinIndex(fields=["search_vector"], name="incident_search"),  # PostgreSQL only (see 0002)
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | ~Q(status="open"),
                name="incident_open_has_no_closed_at",
            ),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("incidents:incident-detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return format_reference(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status == Status.OPEN


def format_reference(pk: int | None) -> str:
    return f"INC-{pk:06d}" if pk else "INC-(new)"


def parse_reference(text: str) -> int | None:
    """INC-000123, inc-123 or 123 -> 123."""
    text = text.strip().upper().removeprefix("INC-").removeprefix("INC")
    return int(text) if text.isdigit() and len(text) <= 12 else None


class VerificationStatus(models.TextChoices):
    PENDING = "pending", "Code sent, waiting"
    VERIFIED = "verified", "Verified"
    FAILED = "failed", "Too many wrong codes"
    EXPIRED = "expired", "Expired"
    REPLACED = "replaced", "Replaced by a newer code"
    OVERRIDDEN = "overridden", "Supervisor override"


class IdentifiedBy(models.TextChoices):
    EMAIL = "email", "email address of record"
    ACCOUNT_REFERENCE = "account_reference", "account / service name"
    SUPERVISOR = "supervisor", "supervisor override"


class CallerVerification(models.Model):
    """How the caller proved they hold the account: a one-time code to the address of record."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="verifications")
    identified_by = models.CharField(
        max_length=20, choices=IdentifiedBy.choices, help_text="How stage 1 found the account."
    )
    code_hash = models.CharField(max_length=128, blank=True)
    sent_to = models.EmailField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=VerificationStatus.choices, default=VerificationStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"], condition=Q(status="pending"), name="one_pending_code_per_incident"
            ),
        ]

    def __str__(self):
        return f"{self.get_status_display()} ({self.incident})"


class ChangeKind(models.TextChoices):
    TRANSACTION = "transaction", "Transaction details"
    PROPERTY = "property", "Property information"
    CONTACT = "contact", "Contact details"
    ACTIVITY_LOG = "activity_log", "Unknown activity-log entry"
    OTHER = "other", "Other"


class UnauthorizedChange(models.Model):
    """Step 1: something in the account the customer did not authorize."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    description = models.TextField()
    noticed_at = models.DateTimeField(null=True, blank=True, help_text="When the customer noticed it.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.description[:40]}"


class Verdict(models.TextChoices):
    PENDING = "pending", "Not yet judged"
    UNAUTHORIZED = "unauthorized", "Unauthorized"
    LEGITIMATE = "legitimate", "Legitimate"
    UNKNOWN = "unknown", "Unknown"


class Indicator(models.Model):
    """Step 3: an IP address seen in the account's activity log."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="indicators")
    ip = models.GenericIPAddressField(db_index=True)
    scope = models.CharField(max_length=16, help_text="public, private, documentation, loopback, reserved, ...")
    verdict = models.CharField(max_length=12, choices=Verdict.choices, default=Verdict.PENDING)
    context = models.CharField(max_length=300, blank=True, help_text="The log line it came from.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="indicator_seen")]  # IP search, newest first
        constraints = [models.UniqueConstraint(fields=["incident", "ip"], name="one_indicator_per_ip")]

    def __str__(self):
        return self.ip

    @property
    def is_public(self) -> bool:
        return self.scope == "public"


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Waiting"
    CLAIMED = "claimed", "Claimed"
    RETURNED = "returned", "Handed back"
    RESOLVED = "resolved", "Resolved"


ACTIVE_ESCALATION_STATUSES = (EscalationStatus.OPEN, EscalationStatus.CLAIMED)


class EscalationQuerySet(models.QuerySet):
    def active(self):
        """Waiting or claimed: an incident has at most one of these."""
        return self.filter(status__in=ACTIVE_ESCALATION_STATUSES)


class Escalation(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="escalations")
    from_team = models.CharField(max_length=10, choices=Team.choices)
    to_team = models.CharField(max_length=10, choices=Team.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="claimed_escalations"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True, help_text="Resolution, or why it was handed back.")

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["to_team", "status", "-severity", "requested_at"], name="escalation_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"], condition=Q(status__in=["open", "claimed"]), name="one_active_escalation"
            ),
            models.CheckConstraint(
                condition=Q(status="open", claimed_by__isnull=True) | ~Q(status="open"),
                name="open_escalation_unclaimed",
            ),
        ]

    def __str__(self):
        return f"{self.incident} → {self.get_to_team_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ESCALATION_STATUSES


class NoteVisibility(models.TextChoices):
    INTERNAL = "internal", "Internal note"
    CUSTOMER = "customer", "Message to the customer"


class Note(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    visibility = models.CharField(max_length=10, choices=NoteVisibility.choices, default=NoteVisibility.INTERNAL)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_visibility_display()} on {self.incident}"


class UpdateStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class CustomerUpdate(models.Model):
    """The outbox: one row per email to a customer, written in the transaction that decides it."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="customer_updates")
    template = models.CharField(max_length=32)
    language = models.CharField(max_length=2, choices=Language.choices)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="Template variables (never a secret).")
    status = models.CharField(max_length=8, choices=UpdateStatus.choices, default=UpdateStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "updated_at"], name="customer_update_status")]

    def __str__(self):
        return f"{self.template} to {self.recipient} ({self.status})"

    @property
    def display_text(self) -> str:
        """The body as agents may see it: a one-time code is never shown, whatever the status."""
        from .outbox import SECRET_TEMPLATES, mask_secrets

        return mask_secrets(self.body_text) if self.template in SECRET_TEMPLATES else self.body_text


@models.GenericIPAddressField.register_lookup
class NetworkContainsOrEquals(models.Lookup):
    """`ip__in_network="203.0.113.0/24"`: the address lies in the network (PostgreSQL `<<=`).

    PostgreSQL turns `inet <<= network` into a range condition on the column's ordinary B-tree
    index, so the lookup is index-backed without a GiST index. SQLite has no network type: the
    selectors search it another way (see `selectors.ip_query`).
    """

    lookup_name = "in_network"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        raise NotImplementedError("in_network needs PostgreSQL; use selectors.ip_query.")

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # The network as text, cast in SQL: the field's own adapter takes single addresses only.
        return f"{lhs} <<= %s::inet", [*lhs_params, str(self.rhs)]
