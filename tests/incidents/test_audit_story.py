"""From the audit trail alone, answer for one incident: who verified the caller and how, who viewed
it, every change and stage move, and every email sent."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from audit.models import AuditEntry
from incidents import services, verification
from incidents.models import Incident
from tests.desk import sent_code

pytestmark = pytest.mark.django_db


def test_the_trail_alone_tells_the_whole_story(client, verified_client, customer, tier1, security_agent):
    incident = services.open_incident(
        customer=customer, channel="phone", summary="Payee added", severity=2, actor=tier1
    )
    verification.send_code(incident, identified_by="account_reference", actor=tier1)
    verification.check_code(incident, code="000000" if sent_code(incident) != "000000" else "111111", actor=tier1)
    verification.check_code(incident, code=sent_code(incident), actor=tier1)
    services.record_unauthorized_change(
        incident,
        kind="transaction",
        description="Payee J. Doe",
        noticed_at=None,
        actor=tier1,
        expected_version=Incident.objects.get(pk=incident.pk).version,
    )
    services.advance(incident, actor=tier1, expected_version=Incident.objects.get(pk=incident.pk).version)
    services.escalate(incident, to_team="security", reason="Money moved", severity=4, actor=tier1)
    verified_client(security_agent)
    client.get(reverse("incidents:incident-detail", args=[incident.pk]))
    client.get(reverse("incidents:incident-history", args=[incident.pk]))

    trail = list(AuditEntry.objects.filter(incident_id=incident.pk).order_by("seq"))
    story = [(e.action, e.actor_label) for e in trail]

    # Who verified the caller, and how.
    verified = next(e for e in trail if e.action == "caller.verified")
    assert (verified.actor_label, verified.data["method"], verified.data["attempts"]) == (tier1.email, "email_code", 2)
    assert ("caller.verification_failed", tier1.email) in story
    code_sent = next(e for e in trail if e.action == "caller.code_sent")
    assert code_sent.data["identified_by"] == "account_reference"
    # Who viewed it.
    views = [e.data["page"] for e in trail if e.action == "incident.viewed" and e.actor_label == security_agent.email]
    assert views == ["incident", "history"]
    # Every change and stage move.
    assert ("incident.change_recorded", tier1.email) in story
    move = next(e for e in trail if e.action == "incident.stage_advanced")
    assert (move.data["from_stage"], move.data["to_stage"]) == ("confirm", "secure")
    assert ("escalation.opened", tier1.email) in story
    # Every email sent, each queued then sent.
    queued = [e.data["template"] for e in trail if e.action == "email.queued"]
    assert queued == ["acknowledgement", "verification_code", "escalated"]
    assert sum(1 for e in trail if e.action == "email.sent") == 3
    # Field-level changes are in django-auditlog's trail too, free text masked.
    incident_changes = LogEntry.objects.get_for_object(Incident.objects.get(pk=incident.pk))
    assert any("stage" in (entry.changes_dict or {}) for entry in incident_changes)
    assert all("Payee added" not in str(entry.changes) for entry in incident_changes)
    # And the chain is intact.
    assert all(
        later.prev_hash == earlier.hash
        for earlier, later in zip(
            AuditEntry.objects.order_by("seq"), AuditEntry.objects.order_by("seq")[1:], strict=False
        )
    )
