import json

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.fields import RedactedCharField, RedactedJSONField


class AuditAction(models.TextChoices):
    """Every domain event the desk records. One enumeration, owned here."""

    SIGN_IN = "auth.sign_in", "Signed in (password)"
    SIGN_IN_FAILED = "auth.sign_in_failed", "Sign-in failed"
    SIGN_OUT = "auth.sign_out", "Signed out"
    LOCKED_OUT = "auth.locked_out", "Locked out after repeated failures"
    SECOND_FACTOR_PASSED = "auth.2fa_passed", "Second factor verified"
    SECOND_FACTOR_FAILED = "auth.2fa_failed", "Second factor refused"
    TWO_FACTOR_ENROLLED = "auth.2fa_enrolled", "Authenticator enrolled"
    TWO_FACTOR_RESET = "auth.2fa_reset", "Two-factor authentication reset"
    BACKUP_CODES_ISSUED = "auth.backup_codes_issued", "Backup codes issued"
    REAUTHENTICATED = "auth.reauthenticated", "Re-authenticated for a sensitive action"
    SESSIONS_ENDED = "auth.sessions_ended", "Sessions ended"
    AGENT_CREATED = "agent.created", "Agent account created"
    AGENT_CHANGED = "agent.changed", "Agent account or roles changed"
    AGENT_PASSWORD_SET = "agent.password_set", "Agent password set by an administrator"

    CUSTOMER_CREATED = "customer.created", "Customer created"
    CUSTOMER_CHANGED = "customer.changed", "Customer details changed"
    CUSTOMER_VIEWED = "customer.viewed", "Customer page viewed"
    INCIDENT_OPENED = "incident.opened", "Incident opened"
    INCIDENT_VIEWED = "incident.viewed", "Incident viewed"
    INCIDENT_UPDATED = "incident.updated", "Incident updated"
    STAGE_ADVANCED = "incident.stage_advanced", "Playbook stage advanced"
    INCIDENT_CLOSED = "incident.closed", "Incident closed"
    INCIDENT_REOPENED = "incident.reopened", "Incident reopened"
    CALLER_CODE_SENT = "caller.code_sent", "Caller verification code sent"
    CALLER_VERIFIED = "caller.verified", "Caller verified"
    CALLER_VERIFICATION_FAILED = "caller.verification_failed", "Caller verification failed"
    CALLER_OVERRIDE = "caller.override", "Supervisor override of caller verification"
    CALLER_ADDRESS_HOLD_OVERRIDDEN = "caller.address_hold_overridden", "Supervisor sent a code to a held address"
    CHANGE_RECORDED = "incident.change_recorded", "Unauthorized change recorded"
    SECURING_RECORDED = "incident.securing_recorded", "Securing step recorded"
    INDICATOR_RECORDED = "incident.indicator_recorded", "Indicator recorded"
    INDICATOR_VERDICT = "incident.indicator_verdict", "Indicator verdict given"
    NOTE_ADDED = "incident.note_added", "Note added"
    ESCALATED = "escalation.opened", "Escalated"
    ESCALATION_CLAIMED = "escalation.claimed", "Escalation claimed"
    ESCALATION_RETURNED = "escalation.returned", "Escalation handed back"
    ESCALATION_RESOLVED = "escalation.resolved", "Escalation resolved"
    NO_ESCALATION = "escalation.not_needed", "No escalation needed"
    SEVERITY_CHANGED = "incident.severity_changed", "Severity changed"
    CAMPAIGN_DETECTED = "campaign.detected", "Campaign detected"
    CAMPAIGN_LINKED = "campaign.incident_linked", "Incident linked to a campaign"
    CAMPAIGN_CONFIRMED = "campaign.confirmed", "Campaign confirmed"
    CAMPAIGN_DISMISSED = "campaign.dismissed", "Campaign dismissed"
    CAMPAIGN_MERGED = "campaign.merged", "Campaign merged into another"

    SLA_ALERT_RAISED = "sla.alert_raised", "SLA alert raised"
    SLA_ALERT_EMAILED = "sla.alert_emailed", "SLA alert emailed to the team"
    BREACH_MARKED = "breach.marked", "Marked as a personal-data breach"
    BREACH_OBLIGATION_MET = "breach.obligation_met", "Breach notification recorded as made"
    METRICS_EXPORTED = "metrics.exported", "Supervisor metrics exported"

    EMAIL_QUEUED = "email.queued", "Customer email queued"
    EMAIL_SENT = "email.sent", "Customer email sent"
    EMAIL_FAILED = "email.failed", "Customer email failed"

    SETTING_CREATED = "settings.created", "Desk setting added"
    SETTING_CHANGED = "settings.changed", "Desk setting changed"
    SETTING_DELETED = "settings.deleted", "Desk setting removed"

    AUDIT_EXPORTED = "audit.exported", "Audit trail exported"
    AUDIT_VERIFIED = "audit.verified", "Audit chain verified"
    # One per django-auditlog field-change entry: its id and digest, so the chain covers it.
    MODEL_CHANGED = "model.changed", "Model fields changed"
    PASSWORD_CHANGED = "auth.password_changed", "Password changed by the agent"


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit entries are append-only: they cannot be updated.")

    def delete(self):
        raise TypeError("Audit entries are append-only: they cannot be deleted.")

    def bulk_update(self, *args, **kwargs):
        raise TypeError("Audit entries are append-only: they cannot be updated.")

    def bulk_create(self, *args, **kwargs):
        raise TypeError("Audit entries are written one by one through audit.services.record().")


class AuditEntry(models.Model):
    """One link of the tamper-evident chain: its hash covers its content and the previous hash."""

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # No `choices`: new event kinds must not need a migration of an append-only table.
    # action, actor, incident_id and customer_id are indexed by the (column, -seq) indexes below,
    # whose first column serves every lookup a single-column index would: each index is written on
    # every append, inside the chain lock.
    action = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_label = RedactedCharField(max_length=254, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    incident_id = models.BigIntegerField(null=True, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = RedactedCharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=36, blank=True, db_index=True)
    data = RedactedJSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["actor", "-seq"], name="audit_actor_seq"),
            models.Index(fields=["incident_id", "-seq"], name="audit_incident_seq"),
            # The viewer's other filters, each served newest-first by one index range scan.
            models.Index(fields=["customer_id", "-seq"], name="audit_customer_seq"),
            models.Index(fields=["action", "-seq"], name="audit_action_seq"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} by {self.actor_label or 'system'}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("Audit entries are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit entries are append-only: they cannot be deleted.")

    @property
    def action_label(self) -> str:
        try:
            return AuditAction(self.action).label
        except ValueError:
            return self.action

    @property
    def data_text(self) -> str:
        """The payload as one line of JSON, for display."""
        return json.dumps(self.data, ensure_ascii=False, sort_keys=True) if self.data else ""


class PendingEntry(models.Model):
    """An entry written but not chained yet (AUDIT_SEQUENCER=background): what it says, without seq
    and hashes.

    A request inserts one with no lock at all; the sequencer (audit.sequencer) takes pending rows
    in id order, appends them to the chain in one transaction under the chain lock, and deletes
    them in that same transaction, so each is chained exactly once or, if the sequencer dies,
    not at all yet. Nothing updates a pending row (a trigger refuses it): what a request wrote is
    what gets hashed. verify_audit counts them and fails when one waits too long.
    """

    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_label = RedactedCharField(max_length=254, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    incident_id = models.BigIntegerField(null=True, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = RedactedCharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    data = RedactedJSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"pending {self.action} by {self.actor_label or 'system'}"

    @property
    def action_label(self) -> str:
        return AuditEntry.action_label.fget(self)

    @property
    def data_text(self) -> str:
        return AuditEntry.data_text.fget(self)


def redact_free_text(entry) -> None:
    """Card numbers out of an entry's free text (its redacting fields), before it is hashed.

    The fields would redact on the way to the database anyway; doing it first makes what is
    hashed what is stored. `entry` is an AuditEntry or anything with its attributes
    (audit.bulk.GeneratedEntry).
    """
    for field in AuditEntry._meta.concrete_fields:
        if getattr(field, "redacts", False):
            setattr(entry, field.attname, field.redact(getattr(entry, field.attname)))


class FormerLabel(models.Model):
    """A label a content type had before its model moved to another app (audit.renames).

    The chained entry of a field change names the model by its label then, and its digest covers
    that label; the content type row is renamed in place when the model moves, so its older
    entries name a label it no longer has. verify_audit accepts this label for the content type's
    entries up to `upto_seq` (the chain head when the move happened), and no others. Rows are
    written by the migration that moves the model and by nothing else (on PostgreSQL only the
    owner may write here: audit.triggers).
    """

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=201)  # "app_label.model", as a chained entry names it
    upto_seq = models.BigIntegerField()

    class Meta:
        ordering = ["upto_seq", "id"]

    def __str__(self):
        return f"{self.label} (up to #{self.upto_seq})"
