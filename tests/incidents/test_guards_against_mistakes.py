"""Findings of a code review, each pinned by a test."""

import pytest
from django.core.exceptions import PermissionDenied  # noqa: F401
from django.urls import reverse

from incidents import services, verification
from incidents.models import Incident
from incidents.playbook import PlaybookError
from notifications.models import CustomerUpdate
from tests.desk import sent_code
from tests.factories import CustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def test_the_panel_never_shows_a_one_time_code_and_it_is_never_resent(client, verified_client, incident, tier1):
    verification.send_code(incident, identified_by="email", actor=tier1)
    code = sent_code(incident)
    update = CustomerUpdate.objects.get(incident=incident, template="verification_code")
    CustomerUpdate.objects.filter(pk=update.pk).update(status="failed", body_text=f"Your code: {code}")
    verified_client(tier1)
    assert code not in client.get(incident.get_absolute_url()).content.decode()
    with pytest.raises(PlaybookError, match="never sent twice"):
        services.retry_customer_update(CustomerUpdate.objects.get(pk=update.pk), actor=tier1)


def test_a_reopened_incident_sends_its_resolution_again(incident, tier1, supervisor_agent):
    from tests.desk import walk_to

    incident = walk_to(incident, "post_incident", tier1)
    resolve = dict(resolution_summary="r", measures_taken="m", advice_given="a", actor=tier1)
    services.resolve_incident(incident, expected_version=Incident.objects.get(pk=incident.pk).version, **resolve)
    services.reopen_incident(incident, reason="Customer saw more activity", actor=supervisor_agent)
    incident = Incident.objects.get(pk=incident.pk)
    while incident.stage != "post_incident":  # the first run's records still satisfy the gates
        incident = services.advance(incident, actor=tier1, expected_version=incident.version)
    services.resolve_incident(incident, expected_version=Incident.objects.get(pk=incident.pk).version, **resolve)
    assert incident.customer_updates.filter(template="resolution").count() == 2


def test_restricted_incidents_stay_out_of_the_tier2_queue_and_cannot_go_there(
    client, verified_client, tier1, security_agent
):
    from tests.factories import UserFactory

    incident = IncidentFactory(restricted=True)
    with pytest.raises(PlaybookError, match="security team only"):
        services.escalate(incident, to_team="tier2", reason="x", severity=2, actor=security_agent)
    other = IncidentFactory(restricted=True)
    services.escalate(other, to_team="security", reason="insider", severity=4, actor=security_agent)
    verified_client(UserFactory(roles=["tier2"]))
    assert other.reference not in client.get(reverse("incidents:queue", args=["tier2"])).content.decode()


def test_a_false_alarm_cannot_close_while_an_escalation_is_active(incident, tier1):
    services.escalate(incident, to_team="security", reason="x", severity=3, actor=tier1)
    with pytest.raises(PlaybookError, match="escalation is still active"):
        services.close_not_confirmed(
            Incident.objects.get(pk=incident.pk),
            reason="nothing",
            actor=tier1,
            expected_version=Incident.objects.get(pk=incident.pk).version,
        )


def test_verdict_on_a_closed_incident_is_a_message_not_a_server_error(client, verified_client, incident, tier1):
    indicator = services.add_indicators_from_log(incident, log_text="8.8.8.8", actor=tier1)[0]
    services.close_not_confirmed(
        Incident.objects.get(pk=incident.pk),
        reason="false alarm",
        actor=tier1,
        expected_version=Incident.objects.get(pk=incident.pk).version,
    )
    verified_client(tier1)
    response = client.post(
        reverse("incidents:incident-verdicts", args=[incident.pk]), {f"verdict-{indicator.pk}": "legitimate"}
    )
    assert response.status_code == 409 and "is closed" in response.content.decode()


def test_a_shared_email_asks_for_the_account_reference(client, verified_client, tier1):
    CustomerFactory(email="family@example.org")
    CustomerFactory(email="family@example.org")
    verified_client(tier1)
    response = client.post(
        reverse("incidents:incident-create"),
        {"customer_query": "family@example.org", "channel": "phone", "severity": "2", "summary": "x"},
    )
    assert "ask for the account reference" in response.content.decode()
    assert not Incident.objects.exists()


def test_extreme_audit_dates_are_a_form_error(client, verified_client, security_agent):
    verified_client(security_agent)
    response = client.get("/audit/", {"date_to": "9999-12-31"})
    assert response.status_code == 400 and "before the year 9999" in response.content.decode()


def test_after_confirming_a_post_action_the_agent_returns_to_their_page(client, verified_client, supervisor_agent):
    verified_client(supervisor_agent)
    response = client.post("/accounts/backup-codes/", HTTP_REFERER="http://testserver/accounts/profile/")
    assert response["Location"] == "/accounts/confirm/?next=%2Faccounts%2Fprofile%2F"


def test_a_double_clicked_progress_update_goes_out_once(client, verified_client, incident, tier1):
    verified_client(tier1)
    url = reverse("incidents:incident-progress", args=[incident.pk])
    client.post(url, {"message": "We blocked the payee.", "action": "send"})
    response = client.post(url, {"message": "We blocked the payee.", "action": "send"})
    assert "already sent" in response.content.decode()
    assert incident.customer_updates.filter(template="progress").count() == 1
