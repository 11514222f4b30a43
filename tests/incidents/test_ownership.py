"""Who holds an incident (README "Who holds it"): the header names team and agent, and opening,
escalating, claiming, handing back, resolving an escalation and closing move it by the rules."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from incidents import services
from tests.desk import fresh, walk_to

pytestmark = pytest.mark.django_db


def held(incident):
    incident = fresh(incident)
    return incident.team, incident.assignee


def test_resolving_an_escalation_gives_the_incident_back_to_whoever_escalated_it(
    incident, tier1, security_agent, client, verified_client
):
    assert held(incident) == ("tier1", tier1)
    escalation = services.escalate(incident, to_team="security", reason="Payout fraud", severity=3, actor=tier1)
    assert held(incident) == ("security", None)
    verified_client(tier1)
    header = client.get(incident.get_absolute_url()).content.decode()
    assert "waiting in the Security team queue to be claimed" in header

    services.claim_escalation(escalation, actor=security_agent)
    assert held(incident) == ("security", security_agent)
    header = client.get(incident.get_absolute_url()).content.decode()
    assert "Sasha Security" in header.split('id="held-by"')[1].split("</p>")[0]

    services.resolve_escalation(escalation, outcome="Payee removed, sessions ended", actor=security_agent)
    assert held(incident) == ("tier1", tier1)
    entry = AuditEntry.objects.filter(action="escalation.resolved").latest("pk")
    assert entry.data["team"] == "tier1" and entry.data["assignee"] == tier1.pk

    incident = walk_to(fresh(incident), "post_incident", tier1)
    services.resolve_incident(
        incident, resolution_summary="r", measures_taken="m", advice_given="a", actor=tier1,
        expected_version=fresh(incident).version,
    )  # fmt: skip
    assert held(incident) == ("tier1", tier1)
    mine = client.get(reverse("incidents:incident-list") + "?mine=on&status=resolved").content.decode()
    assert incident.reference in mine


def test_a_hand_back_returns_it_to_the_escalating_team_and_agent(incident, tier1, security_agent):
    escalation = services.escalate(incident, to_team="security", reason="x", severity=3, actor=tier1)
    services.claim_escalation(escalation, actor=security_agent)
    services.return_escalation(escalation, reason="Not a security matter", actor=security_agent)
    assert held(incident) == ("tier1", tier1)


def test_closing_names_the_agent_who_closed_it(incident, tier1):
    from tests.factories import UserFactory

    colleague = UserFactory(roles=["agent"], full_name="Cleo Colleague")
    services.close_not_confirmed(incident, reason="The customer made the change", actor=colleague,
                                 expected_version=fresh(incident).version)  # fmt: skip
    assert held(incident) == ("tier1", colleague)
