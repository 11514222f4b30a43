"""Campaign detection: the same attacker IP or network across customers, escalated once to security."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from campaigns import services as campaigns
from campaigns.models import AllowedNetwork, Campaign, CampaignMember, CampaignStatus
from incidents import services
from incidents.models import Escalation, Incident, Severity, Team, network_of
from incidents.playbook import PlaybookError
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"


def new_incident(actor, *, customer=None, severity=2, restricted=False):
    incident = services.open_incident(
        customer=customer or CustomerFactory(),
        channel="phone",
        summary="Unknown payee added",
        severity=severity,
        actor=actor,
    )
    if restricted:
        Incident.objects.filter(pk=incident.pk).update(restricted=True)
        incident.refresh_from_db()
    return incident


def judge(incident, ip, verdict, actor):
    """Record the address from a log line and give it a verdict, as an agent does at step 3."""
    services.add_indicators_from_log(incident, log_text=f"login from {ip}", actor=actor)
    indicator = incident.indicators.get(ip=ip)
    return services.set_indicator_verdict(indicator, verdict=verdict, actor=actor)


def security_escalations(incident):
    return Escalation.objects.filter(incident=incident, to_team=Team.SECURITY)


def test_the_same_unauthorized_ip_on_two_customers_links_raises_and_escalates_both_once(tier1):
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    assert not CampaignMember.objects.exists()  # one customer alone is no campaign

    judge(second, ATTACKER, "unauthorized", tier1)

    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.SUSPECTED
    assert set(CampaignMember.objects.values_list("incident_id", flat=True)) == {first.pk, second.pk}
    for incident, other in ((first, second), (second, first)):
        incident.refresh_from_db()
        assert incident.severity == Severity.HIGH and incident.team == Team.SECURITY
        escalation = security_escalations(incident).get()
        assert escalation.reason.startswith(f"Campaign {campaign.reference}: same IP {ATTACKER} in {other.reference}")
        entry = AuditEntry.objects.get(action=AuditAction.ESCALATED, incident_id=incident.pk)
        assert entry.data["automatic"] is True and campaign.reference in entry.data["reason"]
        assert entry.actor == tier1  # the agent whose save found the campaign
        raised = AuditEntry.objects.get(action=AuditAction.SEVERITY_CHANGED, incident_id=incident.pk)
        assert (raised.data["from_severity"], raised.data["to_severity"]) == (2, 3)
        member = CampaignMember.objects.get(incident=incident)
        assert member.escalation == escalation
    assert AuditEntry.objects.filter(action=AuditAction.CAMPAIGN_DETECTED).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.CAMPAIGN_LINKED).count() == 2
    # The customers were told specialists are on it, once each.
    assert second.customer_updates.filter(template="escalated").count() == 1


def test_a_critical_incident_keeps_its_severity(tier1):
    first, second = new_incident(tier1, severity=4), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unknown", tier1)  # unknown triggers too
    first.refresh_from_db()
    assert first.severity == Severity.CRITICAL
    assert security_escalations(first).get().severity == Severity.CRITICAL


def test_the_same_ipv4_24_links_and_says_so(tier1):
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, "198.51.100.10", "unauthorized", tier1)
    judge(second, "198.51.100.77", "unauthorized", tier1)
    member = CampaignMember.objects.get(incident=second)
    assert member.reason == f"same network 198.51.100.0/24 (198.51.100.77 / 198.51.100.10) in {first.reference}"
    assert security_escalations(first).count() == security_escalations(second).count() == 1


def test_a_network_hit_on_a_restricted_incident_names_neither_it_nor_its_address(tier1):
    secret, mine = new_incident(tier1, restricted=True), new_incident(tier1)
    judge(secret, "198.51.100.10", "unauthorized", tier1)
    judge(mine, "198.51.100.77", "unauthorized", tier1)
    reason = CampaignMember.objects.get(incident=mine).reason
    assert reason == "same network 198.51.100.0/24 (198.51.100.77) in a restricted incident"
    assert "198.51.100.10" not in security_escalations(mine).get().reason
    # The restricted incident's own record still says everything.
    assert CampaignMember.objects.get(incident=secret).reason == (
        f"same network 198.51.100.0/24 (198.51.100.10 / 198.51.100.77) in {mine.reference}"
    )


def test_the_same_ipv6_48_links_but_a_neighbouring_48_does_not(tier1):
    first, second, third = new_incident(tier1), new_incident(tier1), new_incident(tier1)
    judge(first, "2001:db8:aa:1::5", "unauthorized", tier1)
    judge(second, "2001:db8:ab:9::1", "unauthorized", tier1)  # another /48
    assert not CampaignMember.objects.exists()
    judge(third, "2001:db8:aa:ffff::77", "unauthorized", tier1)
    assert set(CampaignMember.objects.values_list("incident_id", flat=True)) == {first.pk, third.pk}


def test_network_is_stored_when_the_indicator_is_written(tier1):
    incident = new_incident(tier1)
    services.add_indicators_from_log(incident, log_text="a 203.0.113.7 b 2001:db8:aa:1::5", actor=tier1)
    assert dict(incident.indicators.values_list("ip", "network")) == {
        "203.0.113.7": "203.0.113.0/24",
        "2001:db8:aa:1::5": "2001:db8:aa::/48",
    }
    assert network_of("10.1.2.3") == "10.1.2.0/24"


def test_a_legitimate_verdict_is_never_a_trigger(tier1):
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "legitimate", tier1)  # e.g. the second customer's own office
    assert not CampaignMember.objects.exists()
    assert not Escalation.objects.exists()


def test_an_address_on_the_desk_allow_list_is_never_a_trigger(tier1):
    AllowedNetwork.objects.create(network="203.0.113.0/24", label="Acme Ltd office")
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unauthorized", tier1)
    assert not CampaignMember.objects.exists()
    assert not Escalation.objects.exists()


def test_private_addresses_and_the_same_customer_do_not_make_a_campaign(tier1):
    customer = CustomerFactory()
    first, again = new_incident(tier1, customer=customer), new_incident(tier1, customer=customer)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(again, ATTACKER, "unauthorized", tier1)  # the same customer twice: not "other customers"
    other = new_incident(tier1)
    judge(new_incident(tier1), "192.168.1.20", "unauthorized", tier1)
    judge(other, "192.168.1.20", "unauthorized", tier1)
    assert not CampaignMember.objects.exists()


def test_only_the_detection_window_counts(tier1, settings):
    settings.CAMPAIGN_WINDOW_DAYS = 14
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC), tick=False):
        old = new_incident(tier1)
        judge(old, ATTACKER, "unauthorized", tier1)
    with time_machine.travel(dt.datetime(2026, 11, 16, 9, tzinfo=dt.UTC), tick=False):
        judge(new_incident(tier1), ATTACKER, "unauthorized", tier1)  # 15 days later
        assert not CampaignMember.objects.exists()
        settings.CAMPAIGN_WINDOW_DAYS = 30
        judge(new_incident(tier1), ATTACKER, "unauthorized", tier1)
        assert CampaignMember.objects.filter(incident=old).exists()


def test_nothing_is_escalated_twice_and_a_third_customer_joins_the_same_campaign(tier1):
    first, second, third = new_incident(tier1), new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unauthorized", tier1)
    # The verdict saved again, and a second attacker address on the same incidents.
    services.set_indicator_verdict(second.indicators.get(ip=ATTACKER), verdict="unauthorized", actor=tier1)
    judge(first, "203.0.113.99", "unknown", tier1)
    judge(third, ATTACKER, "unauthorized", tier1)

    campaign = Campaign.objects.get()
    assert campaign.members.count() == 3
    for incident in (first, second, third):
        assert security_escalations(incident).count() == 1
        assert AuditEntry.objects.filter(action=AuditAction.ESCALATED, incident_id=incident.pk).count() == 1
    assert "Seen in 2 other customers' incidents" in security_escalations(third).get().reason


def test_an_active_tier2_escalation_is_passed_on_to_security(tier1):
    first, second = new_incident(tier1), new_incident(tier1)
    tier2 = services.escalate(second, to_team="tier2", reason="Unusual payee", severity=2, actor=tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unauthorized", tier1)

    tier2.refresh_from_db()
    assert tier2.status == "resolved" and tier2.outcome.startswith("Passed on to the security team. Campaign CMP-")
    escalation = security_escalations(second).get()
    assert escalation.is_active and escalation.from_team == Team.TIER2
    assert CampaignMember.objects.get(incident=second).escalation == escalation


def test_an_active_security_escalation_is_kept_and_the_campaign_noted(tier1, security_agent):
    first, second = new_incident(tier1), new_incident(tier1)
    existing = services.escalate(second, to_team="security", reason="Tor exit", severity=3, actor=tier1)
    services.claim_escalation(existing, actor=security_agent)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unauthorized", tier1)

    assert security_escalations(second).get() == existing  # no second one, no crash
    assert CampaignMember.objects.get(incident=second).escalation == existing
    noted = AuditEntry.objects.get(action=AuditAction.INCIDENT_UPDATED, incident_id=second.pk, data__field="campaign")
    assert "Campaign CMP-" in noted.data["reason"]


def test_a_closed_incident_is_linked_but_not_escalated(tier1):
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    Incident.objects.filter(pk=first.pk).update(status="resolved", stage="closed", closed_at=first.created_at)
    judge(second, ATTACKER, "unauthorized", tier1)
    assert CampaignMember.objects.get(incident=first).escalation is None
    assert security_escalations(second).count() == 1


def test_dismissed_campaigns_escalate_nothing_more_and_confirming_resumes(tier1, security_agent):
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unauthorized", tier1)
    campaign = Campaign.objects.get()
    with pytest.raises(PlaybookError, match="Say why"):
        campaigns.dismiss_campaign(campaign, reason="  ", actor=security_agent)
    campaigns.dismiss_campaign(campaign, reason="Shared mobile carrier NAT", actor=security_agent)
    third = new_incident(tier1)
    judge(third, ATTACKER, "unauthorized", tier1)
    assert CampaignMember.objects.get(incident=third).campaign == campaign
    assert not security_escalations(third).exists()

    campaigns.confirm_campaign(campaign, actor=security_agent)
    assert security_escalations(third).count() == 1
    assert security_escalations(first).count() == 1
    actions = set(AuditEntry.objects.filter(target_id=str(campaign.pk)).values_list("action", flat=True))
    assert {AuditAction.CAMPAIGN_DISMISSED, AuditAction.CAMPAIGN_CONFIRMED} <= actions


def test_merge_moves_the_incidents_and_escalates_the_newcomers(tier1, security_agent):
    a1, a2 = new_incident(tier1), new_incident(tier1)
    judge(a1, ATTACKER, "unauthorized", tier1)
    judge(a2, ATTACKER, "unauthorized", tier1)
    b1, b2 = new_incident(tier1), new_incident(tier1)
    judge(b1, "198.51.100.5", "unauthorized", tier1)
    judge(b2, "198.51.100.5", "unauthorized", tier1)
    first, second = Campaign.objects.order_by("pk")
    campaigns.dismiss_campaign(second, reason="looked separate", actor=security_agent)

    into = campaigns.merge_campaigns(second, into=first, actor=security_agent)

    second.refresh_from_db()
    assert into == first and second.status == CampaignStatus.MERGED and second.merged_into == first
    assert first.members.count() == 4
    for incident in (a1, a2, b1, b2):
        assert security_escalations(incident).count() == 1
    with pytest.raises(PlaybookError, match="merged into"):
        campaigns.confirm_campaign(second, actor=security_agent)
    with pytest.raises(PlaybookError, match="another campaign"):
        campaigns.merge_campaigns(first, into=first, actor=security_agent)


def test_only_security_and_supervisors_decide(tier1):
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unauthorized", tier1)
    with pytest.raises(PermissionDenied):
        campaigns.confirm_campaign(Campaign.objects.get(), actor=tier1)


# --- Pages ---------------------------------------------------------------------------------------


def test_banner_counts_other_customers_and_names_no_restricted_incident_to_tier1(
    client, verified_client, tier1, security_agent
):
    mine, open_other, secret = new_incident(tier1), new_incident(tier1), new_incident(tier1, restricted=True)
    judge(open_other, ATTACKER, "unauthorized", tier1)
    judge(secret, ATTACKER, "unauthorized", security_agent)
    judge(mine, ATTACKER, "unauthorized", tier1)

    verified_client(tier1)
    page = client.get(mine.get_absolute_url()).content.decode()
    assert "Seen in 2 other customers&#x27; incidents" in page
    assert open_other.reference in page
    assert secret.reference not in page and secret.customer.display_name not in page
    assert "1 restricted incident only the security team can open" in page
    assert reverse("campaigns:campaign-detail", args=[Campaign.objects.get().pk]) not in page

    verified_client(security_agent)
    page = client.get(mine.get_absolute_url()).content.decode()
    assert secret.reference in page
    assert reverse("campaigns:campaign-detail", args=[Campaign.objects.get().pk]) in page


def test_campaign_page_lists_incidents_ips_and_timeline_and_takes_decisions(client, verified_client, tier1):
    first, second = new_incident(tier1), new_incident(tier1)
    judge(first, ATTACKER, "unauthorized", tier1)
    judge(second, ATTACKER, "unauthorized", tier1)
    campaign = Campaign.objects.get()
    verified_client(UserFactory(roles=["security"]))
    page = client.get(campaign.get_absolute_url()).content.decode()
    for text in (first.reference, second.reference, ATTACKER, "escalated to security", first.customer.display_name):
        assert text in page
    listing = client.get(reverse("campaigns:campaign-list")).content.decode()
    assert campaign.reference in listing

    refused = client.post(reverse("campaigns:campaign-dismiss", args=[campaign.pk]), {"reason": ""})
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    response = client.post(reverse("campaigns:campaign-dismiss", args=[campaign.pk]), {"reason": "Carrier NAT"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "dismissed" and campaign.decision_reason == "Carrier NAT"
    bad_merge = client.post(reverse("campaigns:campaign-merge", args=[campaign.pk]), {"into": "CMP-99999"})
    assert bad_merge.status_code == 400 and "No such campaign" in bad_merge.content.decode()
    assert client.post(reverse("campaigns:campaign-confirm", args=[campaign.pk])).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "confirmed"


def test_campaign_page_and_banner_run_the_same_queries_for_5_and_50_incidents(client, verified_client, tier1):
    mine = new_incident(tier1)
    judge(mine, ATTACKER, "unauthorized", tier1)
    verified_client(UserFactory(roles=["security"]))
    counts = {"campaign": [], "incident": []}
    for n in (4, 45):
        for _ in range(n):
            judge(new_incident(tier1), ATTACKER, "unauthorized", tier1)
        campaign = Campaign.objects.get()
        for name, url in (("campaign", campaign.get_absolute_url()), ("incident", mine.get_absolute_url())):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts[name].append(len(queries))
    assert Campaign.objects.get().members.count() == 50
    assert counts["campaign"][0] == counts["campaign"][1], counts
    assert counts["incident"][0] == counts["incident"][1], counts


def test_the_database_allows_one_campaign_per_incident(tier1):
    from django.db import IntegrityError, transaction

    incident = new_incident(tier1)
    CampaignMember.objects.create(
        campaign=Campaign.objects.create(), incident=incident, reason="r", matched_ip=ATTACKER
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignMember.objects.create(
            campaign=Campaign.objects.create(), incident=incident, reason="r", matched_ip=ATTACKER
        )


def test_allow_list_entries_are_normalised_and_bad_ones_refused_clearly():
    from django.core.exceptions import ValidationError

    entry = AllowedNetwork(network=" 203.0.113.77/24 ", label="Acme Ltd office")
    entry.full_clean()
    assert entry.network == "203.0.113.0/24"
    with pytest.raises(ValidationError) as refused:
        AllowedNetwork(network="not-a-network", label="x").full_clean()
    assert "Enter an IPv4 or IPv6 address or network" in str(refused.value)


@pytest.mark.parametrize("network", ["0.0.0.0/0", "10.0.0.0/8", "::/0", "2001:db8::/16"])
def test_the_allow_list_refuses_networks_so_wide_they_would_switch_detection_off(network):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        AllowedNetwork(network=network, label="everyone").full_clean()
    assert "At most a /" in str(refused.value)


def test_allow_list_changes_are_on_record(tier1):
    from auditlog.models import LogEntry

    entry = AllowedNetwork.objects.create(network="203.0.113.0/24", label="Acme Ltd office")
    logged = LogEntry.objects.get_for_object(entry).get()
    assert logged.changes_dict["network"] == [None, "203.0.113.0/24"]
