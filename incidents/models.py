"""The playbook kernel's records: customers, incidents and what each playbook step leaves behind
(verification, unauthorized changes, indicators, escalations, notes), and the SLA policy that sets
their due times.

Workflow lives in playbook.py (the rules) and services/ (the moves); models hold data and
invariants only.
"""

import ipaddress
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import CardFreeCharField, CardFreeEmailField, RedactedCharField, RedactedTextField
from notifications.catalog import LANGUAGE_TIME_ZONES, Language


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


def validate_time_zone(value: str) -> None:
    if value and value not in available_timezones():
        raise ValidationError(_("Enter a time zone by its IANA name, e.g. Europe/Oslo."))


class Customer(models.Model):
    """The account holder. Minimal personal data: enough to reach and identify them."""

    display_name = RedactedCharField(max_length=120)
    email = CardFreeEmailField(help_text="Address of record: verification codes and updates go here.")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    account_reference = CardFreeCharField(
        max_length=64, unique=True, help_text="The customer's account or service name in our systems."
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/Oslo: times in their emails. Empty: the zone of their language.",
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

    def get_absolute_url(self):
        return reverse("incidents:customer-detail", args=[self.pk])

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of the customer's emails: their own, or their language's."""
        name = self.time_zone or LANGUAGE_TIME_ZONES.get(self.language, "UTC")
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class CustomerEmailChange(models.Model):
    """One change of a customer's address of record: the history that guards one-time codes.

    Written only by `incidents.customers.change_customer`, in the transaction of the change.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="email_changes")
    old_email = CardFreeEmailField()
    new_email = CardFreeEmailField()
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = RedactedTextField()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-changed_at"], name="email_change_customer")]

    def __str__(self):
        return f"Email of record of customer #{self.customer_id} changed at {self.changed_at:%Y-%m-%d %H:%M}"


class Incident(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="incidents")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    summary = RedactedTextField()
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
    not_confirmed_reason = RedactedTextField(blank=True)
    # Step 2: securing checklist.
    password_advice = models.CharField(max_length=10, choices=PasswordAdvice.choices, blank=True)
    password_advice_at = models.DateTimeField(null=True, blank=True)
    customer_two_factor = models.CharField(max_length=12, choices=CustomerTwoFactor.choices, blank=True)
    customer_two_factor_at = models.DateTimeField(null=True, blank=True)
    # Step 3.
    findings = RedactedTextField(blank=True)
    # Step 4.
    no_escalation_reason = RedactedTextField(blank=True)
    # Step 6.
    resolution_summary = RedactedTextField(blank=True)
    measures_taken = RedactedTextField(blank=True)
    advice_given = RedactedTextField(blank=True)

    # SLA clocks (incidents/sla.py keeps them): due and amber ("at risk") times, stored on the row
    # so every list shows its clocks without a query per row. Written by apply_due_times() only.
    first_update_due_at = models.DateTimeField(null=True, blank=True)
    first_update_warn_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    resolve_warn_at = models.DateTimeField(null=True, blank=True)
    clock_started_at = models.DateTimeField(
        null=True, blank=True, help_text="Start of the resolve clock: opened, or reopened last (empty: opened)."
    )
    # Which run of the playbook this is: 0, then 1 after the first reopen, ...
    reopened_count = models.PositiveIntegerField(default=0)
    # When each measured step first happened (the metrics read these columns, not the audit trail).
    first_update_at = models.DateTimeField(
        null=True, blank=True, help_text="First customer email after the automatic acknowledgement."
    )
    secured_at = models.DateTimeField(null=True, blank=True, help_text="Step 2 (secure) first completed.")
    escalated_at = models.DateTimeField(null=True, blank=True, help_text="First escalation requested.")
    personal_data_breach = models.BooleanField(default=False)
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
            models.Index(fields=["status", "first_update_warn_at"], name="incident_update_clock"),
            models.Index(fields=["status", "resolve_warn_at"], name="incident_resolve_clock"),
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
    sent_to = CardFreeEmailField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=VerificationStatus.choices, default=VerificationStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    override_reason = RedactedTextField(blank=True)

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
    description = RedactedTextField()
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
    network = models.CharField(
        max_length=50, blank=True, db_index=True, help_text="The /24 (IPv4) or /48 (IPv6) around the address."
    )
    scope = models.CharField(max_length=16, help_text="public, private, documentation, loopback, reserved, ...")
    verdict = models.CharField(max_length=12, choices=Verdict.choices, default=Verdict.PENDING)
    context = RedactedCharField(max_length=300, blank=True, help_text="The log line it came from.")
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

    @property
    def scope_label(self) -> str:
        return SCOPE_LABELS.get(self.scope, self.scope)


# The ranges of incidents.ipextract.scope_of, in words.
SCOPE_LABELS = {
    "public": _("Public internet"),
    "private": _("Private network (home or office)"),
    "loopback": _("Loopback (the device itself)"),
    "link_local": _("Link-local (same network segment)"),
    "documentation": _("Documentation range (example address)"),
    "multicast": _("Multicast"),
    "unspecified": _("Unspecified address"),
    "reserved": _("Reserved range"),
}


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
    reason = RedactedTextField()
    status = models.CharField(max_length=10, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="claimed_escalations"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = RedactedTextField(blank=True, help_text="Resolution, or why it was handed back.")
    claim_due_at = models.DateTimeField(null=True, blank=True)
    claim_warn_at = models.DateTimeField(null=True, blank=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["to_team", "status", "-severity", "requested_at"], name="escalation_queue"),
            models.Index(fields=["status", "claim_warn_at"], name="escalation_claim_clock"),
        ]
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
    body = RedactedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_visibility_display()} on {self.incident}"


# --- SLA policy ----------------------------------------------------------------------------------


class SlaPolicy(models.Model):
    """How long each clock may run for one severity; supervisors edit these in the admin.

    A change applies to incidents opened (and escalations requested) afterwards, and to any
    incident whose severity changes later; running clocks are not moved retroactively.
    """

    severity = models.PositiveSmallIntegerField(choices=Severity.choices, unique=True)
    first_update_minutes = models.PositiveIntegerField(help_text="Opened → first customer update.")
    claim_minutes = models.PositiveIntegerField(help_text="Escalation requested → claimed by the receiving team.")
    resolve_minutes = models.PositiveIntegerField(help_text="Opened → closed.")
    warn_percent = models.PositiveSmallIntegerField(
        default=75, help_text="The clock turns amber (and the team is warned) once this share of the time is used."
    )

    class Meta:
        ordering = ["-severity"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(condition=Q(warn_percent__gte=1, warn_percent__lte=99), name="sla_warn_percent"),
            models.CheckConstraint(
                condition=Q(first_update_minutes__gte=1, claim_minutes__gte=1, resolve_minutes__gte=1),
                name="sla_minutes_positive",
            ),
        ]

    def __str__(self):
        return f"SLA for {self.get_severity_display()}"


def network_of(ip: str) -> str:
    """The network an address is grouped by across customers: its /24 (IPv4) or /48 (IPv6).

    Stored on the indicator when it is written, so "same network" is an indexed equality
    on PostgreSQL and SQLite alike.
    """
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


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


# --- Reply snippets --------------------------------------------------------------------------------


class SnippetPurpose(models.TextChoices):
    ADVICE = "advice", _("Advice for the customer (step 6)")
    RESOLUTION = "resolution", _("How it was resolved (step 6)")
    PROGRESS = "progress", _("Progress update (step 5)")
    MESSAGE = "message", _("Message to the customer")


class ReplySnippet(models.Model):
    """A reusable text for customers, in one language; supervisors keep them (a desk setting,
    audited). `{name}` and `{reference}` are filled in with the customer's name and the incident's
    reference where an agent inserts it."""

    title = RedactedCharField(max_length=120)
    language = models.CharField(max_length=2, choices=Language.choices)
    purpose = models.CharField(max_length=12, choices=SnippetPurpose.choices)
    body = RedactedTextField(help_text="{name}: the customer's name; {reference}: the incident's reference.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["language", "purpose", "title"]
        verbose_name = "reply snippet"
        indexes = [models.Index(fields=["language", "active"], name="snippet_language")]

    def __str__(self):
        return f"{self.title} ({self.get_language_display()})"

    def filled(self, *, name: str, reference: str) -> str:
        return self.body.replace("{name}", name).replace("{reference}", reference)


# --- Presence --------------------------------------------------------------------------------------


class Presence(models.Model):
    """Who has an incident open right now (viewing, or typing into one of its forms): one row per
    agent and incident, refreshed by the page every few seconds (incidents.presence). A row not
    refreshed for PRESENCE_SECONDS means the agent left: readers ignore it, writers sweep it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    editing = models.BooleanField(default=False)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "agent"], name="one_presence_per_agent")]
        indexes = [models.Index(fields=["incident", "seen_at"], name="presence_incident_seen")]

    def __str__(self):
        return f"{self.agent_id} on {self.incident_id}"
