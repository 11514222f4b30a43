"""The outbox: one row per email to a customer.

An incident or a customer is named by foreign key only; nothing here knows the playbook.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import CardFreeEmailField, RedactedCharField, RedactedJSONField, RedactedTextField

from .catalog import SECRET_TEMPLATES, Language, mask_secrets


class UpdateStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class CustomerUpdate(models.Model):
    """The outbox: one row per email to a customer, written in the transaction that decides it."""

    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="customer_updates"
    )
    # An email about the account itself, outside any incident (the address of record changed).
    customer = models.ForeignKey(
        "incidents.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="account_notices"
    )
    template = models.CharField(max_length=32)
    language = models.CharField(max_length=2, choices=Language.choices)
    recipient = CardFreeEmailField()
    subject = RedactedCharField(max_length=200, blank=True)
    body_text = RedactedTextField(blank=True)
    body_html = RedactedTextField(blank=True)
    context = RedactedJSONField(default=dict, blank=True, help_text="Template variables (never a secret).")
    status = models.CharField(max_length=8, choices=UpdateStatus.choices, default=UpdateStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = RedactedTextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    # Who holds a `sending` row: the lease a live worker keeps fresh (notifications.marks); "" when
    # no lease store is configured (the embedded default).
    claimed_by = models.CharField(max_length=100, blank=True)
    # A row waiting for its next retry is not due before this (the sweeper leaves it alone until then).
    retry_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "incidents_customerupdate"  # moved here from incidents; the table kept its name
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "updated_at"], name="customer_update_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(incident__isnull=False) | Q(customer__isnull=False), name="customer_update_has_subject"
            ),
        ]

    def __str__(self):
        return f"{self.template} to {self.recipient} ({self.status})"

    @property
    def customer_pk(self) -> int:
        """Whose email this is: the incident's customer, or the customer an account notice is for."""
        return self.customer_id or self.incident.customer_id

    @property
    def display_text(self) -> str:
        """The body as agents may see it: a one-time code is never shown, whatever the status."""
        return mask_secrets(self.body_text) if self.template in SECRET_TEMPLATES else self.body_text
