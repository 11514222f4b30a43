"""The hand-off packet: built from the stored records of a scripted incident, masked, constant queries."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from incidents import selectors, services
from incidents.models import Incident, Indicator
from tests.desk import verify_caller
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def at(minutes):
    return time_machine.travel(T0 + dt.timedelta(minutes=minutes), tick=False)


def fresh(incident):
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def scripted(tier1):
    """A phone report worked through steps 1-3; a second customer saw the same attacker IP."""
    customer = CustomerFactory(
        display_name="Marta Kowalska", email="m.kowalska@example.com", account_reference="ACC-778899", language="pl"
    )
    with at(0):
        other = services.open_incident(
            customer=CustomerFactory(), channel="email", summary="Odd login", severity=2, actor=tier1
        )
        services.add_indicators_from_log(other, log_text="from 203.0.113.7", actor=tier1)
        services.set_indicator_verdict(other.indicators.get(), verdict="unauthorized", actor=tier1)
        incident = services.open_incident(
            customer=customer, channel="phone", summary="New payee appeared", severity=2, actor=tier1
        )
    with at(2):
        services.record_unauthorized_change(
            incident,
            kind="transaction",
            description="Payee J. Doe added, 1200 EUR sent",
            noticed_at=T0,
            actor=tier1,
            expected_version=fresh(incident).version,
        )
    with at(4):
        verify_caller(incident, tier1)
    with at(6):
        services.record_securing(
            incident,
            password_advice="done",
            customer_two_factor="enabled_now",
            actor=tier1,
            expected_version=fresh(incident).version,
        )
    with at(8):
        services.add_note(incident, body="Caller sounded rushed", visibility="internal", actor=tier1)
        services.add_indicators_from_log(
            incident, log_text="203.0.113.7 POST /payees\n198.51.100.4 GET /\n192.168.1.20 login", actor=tier1
        )
    with at(10):
        for ip, verdict in (
            ("203.0.113.7", "unauthorized"),
            ("198.51.100.4", "unknown"),
            ("192.168.1.20", "legitimate"),
        ):
            services.set_indicator_verdict(incident.indicators.get(ip=ip), verdict=verdict, actor=tier1)
    return fresh(incident), other


def test_packet_carries_what_the_receiving_team_needs_from_stored_records(scripted, tier1):
    incident, _other = scripted
    packet = selectors.handoff_packet(incident)

    assert packet["customer"] == {
        "name": "M. K***",
        "email": "m***@example.com",
        "account": "ACC***99",
        "language": "Polski",
    }
    assert [c.description for c in packet["changes"]] == ["Payee J. Doe added, 1200 EUR sent"]
    assert packet["securing"]["password"] == "Customer changed the password"
    assert packet["securing"]["password_at"] == T0 + dt.timedelta(minutes=6)
    assert packet["securing"]["two_factor"] == "Enabled now"
    rows = {row["indicator"].ip: row for row in packet["indicators"]}
    assert rows["203.0.113.7"]["same_ip"] == 1 and rows["203.0.113.7"]["indicator"].verdict == "unauthorized"
    assert rows["198.51.100.4"]["same_ip"] == 0 and rows["192.168.1.20"]["indicator"].verdict == "legitimate"
    # The campaign found by the verdict escalated it; the packet names the campaign and the reason.
    assert packet["campaign"] is not None
    assert packet["active_escalation"].reason.startswith(
        f"Campaign {packet['campaign'].reference}: same IP 203.0.113.7"
    )
    assert packet["verification"].status == "verified"
    assert packet["verification"].get_identified_by_display() == "account / service name"
    kinds = [
        (event["kind"], getattr(event["item"], "body", None) or getattr(event["item"], "template", ""))
        for event in packet["timeline"]
    ]
    assert kinds[0] == ("email", "acknowledgement")
    assert ("note", "Caller sounded rushed") in kinds
    assert [k for k, _ in kinds].count("escalation") == 1
    assert [event["at"] for event in packet["timeline"]] == sorted(event["at"] for event in packet["timeline"])


def test_packet_page_is_printable_and_masks_the_customer(client, verified_client, scripted, security_agent):
    incident, _ = scripted
    verified_client(security_agent)
    response = client.get(reverse("incidents:incident-packet", args=[incident.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and "print-page" in page
    for text in (
        "Hand-off packet",
        "M. K***",
        "m***@example.com",
        "Caller sounded rushed",
        "203.0.113.7",
        "same IP: 1",
    ):
        assert text in page, text
    assert "Marta Kowalska" not in page and "m.kowalska@example.com" not in page
    assert AuditEntry.objects.filter(action=AuditAction.INCIDENT_VIEWED, data__page="packet").count() == 1
    fragment = client.get(reverse("incidents:incident-packet", args=[incident.pk]), headers={"HX-Request": "true"})
    assert "<html" not in fragment.content.decode() and "M. K***" in fragment.content.decode()


def test_the_security_queue_item_and_the_incident_offer_the_packet(client, verified_client, scripted, security_agent):
    incident, _ = scripted
    verified_client(security_agent)
    packet_url = reverse("incidents:incident-packet", args=[incident.pk])
    queue = client.get(reverse("incidents:queue-items", args=["security"])).content.decode()
    assert f'hx-get="{packet_url}"' in queue and "hx-preserve" in queue
    detail = client.get(incident.get_absolute_url()).content.decode()
    assert f'hx-get="{packet_url}"' in detail


def test_packet_runs_the_same_queries_for_5_and_50_records(client, verified_client, scripted, tier1, security_agent):
    incident, _ = scripted
    verified_client(security_agent)
    counts = []
    for n in (5, 45):
        for index in range(n):
            services.add_note(incident, body=f"note {index}", visibility="internal", actor=tier1)
            Indicator.objects.create(
                incident=incident,
                ip=f"192.0.2.{len(counts) * 50 + index}",
                network="192.0.2.0/24",
                scope="documentation",
                recorded_by=tier1,
            )
            services.record_unauthorized_change(
                fresh(incident),
                kind="other",
                description=f"c{index}",
                noticed_at=None,
                actor=tier1,
                expected_version=fresh(incident).version,
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("incidents:incident-packet", args=[incident.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
