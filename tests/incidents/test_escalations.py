import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from incidents import services
from incidents.models import Escalation, Incident
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_claim_is_exclusive_and_the_loser_is_told_who_has_it(incident, tier1, security_agent):
    escalation = services.escalate(incident, to_team="security", reason="Payout changed", severity=3, actor=tier1)
    services.claim_escalation(escalation, actor=security_agent)
    other = UserFactory(roles=["security"], full_name="Noor Night-shift")
    with pytest.raises(services.EscalationTaken, match="Already claimed by Sasha Security"):
        services.claim_escalation(escalation, actor=other)
    assert Incident.objects.get(pk=incident.pk).assignee == security_agent


def test_tier1_cannot_claim_security_escalations(incident, tier1):
    escalation = services.escalate(incident, to_team="security", reason="x", severity=3, actor=tier1)
    with pytest.raises(PermissionDenied):
        services.claim_escalation(escalation, actor=tier1)


def test_hand_back_returns_the_incident_to_the_escalating_team(incident, tier1, security_agent):
    escalation = services.escalate(incident, to_team="security", reason="x", severity=3, actor=tier1)
    services.claim_escalation(escalation, actor=security_agent)
    services.return_escalation(escalation, reason="Not a takeover: customer's own device", actor=security_agent)
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.team, incident.assignee) == ("tier1", tier1)
    # A new escalation is possible once the old one is back.
    services.escalate(incident, to_team="tier2", reason="Second opinion", severity=2, actor=tier1)


def test_only_the_claimant_resolves(incident, tier1, security_agent):
    escalation = services.escalate(incident, to_team="security", reason="x", severity=3, actor=tier1)
    services.claim_escalation(escalation, actor=security_agent)
    with pytest.raises(PermissionDenied):
        services.resolve_escalation(escalation, outcome="done", actor=UserFactory(roles=["security"]))
    services.resolve_escalation(escalation, outcome="Sessions revoked", actor=security_agent)
    assert Escalation.objects.get(pk=escalation.pk).status == "resolved"


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_on_postgresql_have_exactly_one_winner(postgres):
    from tests.factories import CustomerFactory

    requester = UserFactory(roles=["agent"])
    incident = services.open_incident(
        customer=CustomerFactory(), channel="chat", summary="x", severity=4, actor=requester
    )
    escalation = services.escalate(incident, to_team="security", reason="Critical", severity=4, actor=requester)
    agents = [UserFactory(roles=["security"], full_name=f"Agent {n}") for n in range(2)]
    barrier = threading.Barrier(len(agents))
    outcomes = {}

    def claim(agent):
        barrier.wait()
        try:
            services.claim_escalation(Escalation.objects.get(pk=escalation.pk), actor=agent)
            outcomes[agent.full_name] = "won"
        except services.EscalationTaken as exc:
            outcomes[agent.full_name] = str(exc)
        except Exception as exc:  # a thread's exception would otherwise vanish
            outcomes[agent.full_name] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1
    loser = next(outcome for outcome in outcomes.values() if outcome != "won")
    assert f"Already claimed by {winners[0]}" in loser
    assert Escalation.objects.get(pk=escalation.pk).claimed_by.full_name == winners[0]


def test_escalating_to_security_can_restrict_the_incident_from_tier1(client, verified_client, incident, tier1):
    verified_client(tier1)
    response = client.post(
        f"/incidents/{incident.pk}/escalate/",
        {"to_team": "security", "severity": "4", "reason": "Insider suspected", "restrict": "on"},
    )
    assert response["Location"] == "/"
    assert Incident.objects.get(pk=incident.pk).restricted
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404


def test_only_security_escalations_may_be_restricted(incident, tier1):
    from incidents.playbook import PlaybookError

    with pytest.raises(PlaybookError, match="security team only"):
        services.escalate(incident, to_team="tier2", reason="x", severity=2, actor=tier1, restrict=True)


def test_security_lifts_a_restriction_with_a_reason_and_tier1_may_not(incident, tier1, security_agent):
    with pytest.raises(PermissionDenied):
        services.set_restricted(incident, restricted=True, reason="x", actor=tier1)
    services.set_restricted(incident, restricted=True, reason="Insider case", actor=security_agent)
    assert Incident.objects.get(pk=incident.pk).restricted
    services.set_restricted(incident, restricted=False, reason="Cleared", actor=security_agent)
    assert not Incident.objects.get(pk=incident.pk).restricted
