"""Campaigns: incidents of different customers linked by the same attacker address or network,
and the desk's allow list of networks that never link them."""

import ipaddress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.fields import CardFreeCharField, RedactedCharField, RedactedTextField


class CampaignStatus(models.TextChoices):
    SUSPECTED = "suspected", "Suspected"
    CONFIRMED = "confirmed", "Confirmed"
    DISMISSED = "dismissed", "Dismissed"
    MERGED = "merged", "Merged"


class Campaign(models.Model):
    """Incidents of different customers linked by the same attacker IP or network."""

    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.SUSPECTED)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = RedactedTextField(blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        db_table = "incidents_campaign"  # moved here from incidents; the table kept its name
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="merged", merged_into__isnull=False) | (~Q(status="merged") & Q(merged_into=None)),
                name="campaign_merged_has_target",
            ),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("campaigns:campaign-detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"CMP-{self.pk:05d}" if self.pk else "CMP-(new)"

    @property
    def is_live(self) -> bool:
        """Suspected or confirmed: it raises severity and escalates."""
        return self.status in (CampaignStatus.SUSPECTED, CampaignStatus.CONFIRMED)


class CampaignMember(models.Model):
    """One incident in one campaign (an incident is in at most one), with why it joined and the
    escalation the campaign caused, which is what makes that escalation happen once."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="members")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    reason = RedactedCharField(max_length=500)
    matched_ip = models.GenericIPAddressField()
    joined_at = models.DateTimeField(default=timezone.now)
    escalation = models.ForeignKey(
        "incidents.Escalation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "incidents_campaignmember"  # moved here from incidents; the table kept its name
        ordering = ["joined_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["incident"], name="one_campaign_per_incident")]

    def __str__(self):
        return f"{self.incident} in {self.campaign}"


# The widest networks the allow list takes (IPv4, IPv6): a carrier's whole range is no "office".
ALLOWED_NETWORK_WIDEST = {4: 16, 6: 32}


class AllowedNetwork(models.Model):
    """Desk-wide allow list: addresses the desk knows are legitimate (a customer's office, our own
    VPN). They never link incidents into a campaign."""

    network = CardFreeCharField(max_length=50, unique=True, help_text="An address or a network: 198.51.100.0/24.")
    label = RedactedCharField(max_length=120, help_text="Whose it is, e.g. 'Acme Ltd office'.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "incidents_allowednetwork"  # moved here from incidents; the table kept its name
        ordering = ["network"]

    def __str__(self):
        return f"{self.network} ({self.label})"

    def clean(self):
        try:
            if "%" in self.network:  # a zone (fe80::%eth0/64) is local to one machine
                raise ValueError(self.network)
            network = ipaddress.ip_network(self.network.strip(), strict=False)
        except ValueError as exc:
            raise ValidationError(
                {"network": "Enter an IPv4 or IPv6 address or network, e.g. 198.51.100.0/24."}
            ) from exc
        widest = ALLOWED_NETWORK_WIDEST[network.version]
        if network.prefixlen < widest:
            raise ValidationError(
                {
                    "network": f"At most a /{widest} network: a wider one would switch campaign detection off for too many."
                }
            )
        self.network = str(network)
