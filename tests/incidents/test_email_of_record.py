"""The email of record is guarded: no one-time code to an address changed lately or named by step 1
as an unauthorized change, unless a supervisor overrides in writing; the previous address is offered."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from audit.verification import verify_chain
from incidents import customers, services, verification
from incidents.models import CallerVerification, Customer
from incidents.playbook import PlaybookError
from incidents.verification import AddressOnHold
from notifications.models import CustomerUpdate
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari(db):
    return CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", language="en")


@pytest.fixture
def moved(kari, supervisor_agent):
    """Kari's address of record was changed just now (perhaps by an attacker on the phone)."""
    return customers.change_customer(
        kari, actor=supervisor_agent, email="mallory@evil.example", reason="Caller asked for it"
    )


def _open(customer, actor):
    return services.open_incident(customer=customer, channel="phone", summary="Payout changed", severity=2, actor=actor)


def _codes_to(address):
    return [m for m in mail.outbox if m.to == [address] and "verification code" in m.subject]


def test_no_code_goes_to_a_freshly_changed_address(moved, tier1):
    incident = _open(moved, tier1)
    with pytest.raises(AddressOnHold, match="less than 30 days ago") as refused:
        verification.send_code(incident, identified_by="email", actor=tier1)
    assert "previous address of record" in str(refused.value)
    assert not CallerVerification.objects.filter(incident=incident).exists()
    assert not CustomerUpdate.objects.filter(incident=incident, template="verification_code").exists()
    assert not _codes_to("mallory@evil.example")


def test_the_code_can_go_to_the_previous_address(moved, tier1):
    incident = _open(moved, tier1)
    sent = verification.send_code(incident, identified_by="email", actor=tier1, to_previous=True)
    assert sent.sent_to == "kari@example.org"
    assert len(_codes_to("kari@example.org")) == 1 and not _codes_to("mallory@evil.example")
    entry = AuditEntry.objects.filter(action="caller.code_sent", incident_id=incident.pk).get()
    assert entry.data["to_previous_address"] is True


def test_a_supervisor_overrides_the_hold_in_writing_and_an_agent_cannot(moved, tier1, supervisor_agent):
    incident = _open(moved, tier1)
    with pytest.raises(PermissionDenied):
        verification.send_code(incident, identified_by="email", actor=tier1, override_reason="I trust them")
    assert not _codes_to("mallory@evil.example")
    sent = verification.send_code(
        incident, identified_by="email", actor=supervisor_agent, override_reason="Customer in branch with passport"
    )
    assert sent.sent_to == "mallory@evil.example" and len(_codes_to("mallory@evil.example")) == 1
    entry = AuditEntry.objects.get(action="caller.address_hold_overridden", incident_id=incident.pk)
    assert entry.actor == supervisor_agent and entry.data["reason"] == "Customer in branch with passport"
    assert "mallory@evil.example" not in repr(entry.data) and "m***@evil.example" in entry.data["hold"]
    assert verify_chain().ok


def test_no_code_goes_to_an_address_step_1_names_as_unauthorized(kari, tier1, supervisor_agent):
    incident = _open(kari, tier1)  # no change of address on record at all
    services.record_unauthorized_change(
        incident,
        kind="contact",
        description="Email of record changed to KARI@Example.org by someone else?",
        noticed_at=None,
        actor=tier1,
        expected_version=incident.version,
    )
    with pytest.raises(AddressOnHold, match=r"records the address k\*\*\*@example\.org as an unauthorized"):
        verification.send_code(incident, identified_by="email", actor=tier1)
    other = _open(CustomerFactory(email="karin@example.org"), tier1)
    verification.send_code(other, identified_by="email", actor=tier1)  # not a substring match
    assert _codes_to("karin@example.org")


def test_an_address_named_in_a_change_of_another_kind_does_not_hold(kari, tier1):
    incident = _open(kari, tier1)
    services.record_unauthorized_change(
        incident,
        kind="other",
        description="kari@example.org appears in a note",
        noticed_at=None,
        actor=tier1,
        expected_version=incident.version,
    )
    verification.send_code(incident, identified_by="email", actor=tier1)
    assert _codes_to("kari@example.org")


def test_the_previous_address_is_refused_when_it_is_on_hold_itself(kari, tier1, supervisor_agent):
    customers.change_customer(kari, actor=supervisor_agent, email="first@evil.example", reason="asked")
    customers.change_customer(
        Customer.objects.get(pk=kari.pk), actor=supervisor_agent, email="second@evil.example", reason="asked"
    )
    incident = _open(Customer.objects.get(pk=kari.pk), tier1)
    with pytest.raises(AddressOnHold, match=r"f\*\*\*@evil\.example"):
        verification.send_code(incident, identified_by="email", actor=tier1, to_previous=True)
    panel = verification.address_panel(incident)
    assert panel.hold and panel.previous is None and panel.previous_hold


def test_the_hold_period_is_configurable(moved, tier1, settings):
    incident = _open(moved, tier1)
    later = timezone.now() + timedelta(days=6)
    settings.EMAIL_OF_RECORD_HOLD_DAYS = 7
    with time_machine.travel(later), pytest.raises(AddressOnHold, match="less than 7 days ago"):
        verification.send_code(incident, identified_by="email", actor=tier1)
    settings.EMAIL_OF_RECORD_HOLD_DAYS = 5
    with time_machine.travel(later):
        verification.send_code(incident, identified_by="email", actor=tier1)
    assert len(_codes_to("mallory@evil.example")) == 1


def test_no_hold_when_the_period_is_zero(moved, tier1, settings):
    settings.EMAIL_OF_RECORD_HOLD_DAYS = 0
    verification.send_code(_open(moved, tier1), identified_by="email", actor=tier1)
    assert _codes_to("mallory@evil.example")


def test_the_default_hold_is_30_days():
    from django.conf import settings

    assert settings.EMAIL_OF_RECORD_HOLD_DAYS == 30


# --- The verification panel ------------------------------------------------------------------------


def test_the_panel_says_why_and_offers_the_previous_address(client, verified_client, moved, tier1):
    incident = _open(moved, tier1)
    verified_client(tier1)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "No code to the address of record." in page and "less than 30 days ago" in page
    assert "previous address of record (k***@example.org)" in page
    assert reverse("incidents:verification-send-previous", args=[incident.pk]) in page
    assert reverse("incidents:verification-send", args=[incident.pk]) not in page
    assert reverse("incidents:verification-send-override", args=[incident.pk]) not in page  # not a supervisor

    response = client.post(
        reverse("incidents:verification-send-previous", args=[incident.pk]), {"identified_by": "email"}
    )
    assert response.status_code == 302
    assert CallerVerification.objects.get(incident=incident).sent_to == "kari@example.org"


def test_the_pages_refuse_a_held_address_clearly_and_only_supervisors_override(
    client, verified_client, moved, tier1, supervisor_agent
):
    incident = _open(moved, tier1)
    verified_client(tier1)
    response = client.post(reverse("incidents:verification-send", args=[incident.pk]), {"identified_by": "email"})
    assert response.status_code == 400 and "less than 30 days ago" in response.content.decode()
    override = reverse("incidents:verification-send-override", args=[incident.pk])
    assert client.post(override, {"identified_by": "email", "reason": "trust"}).status_code == 403
    verified_client(supervisor_agent, reauthenticated=True)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert override in page
    response = client.post(override, {"identified_by": "email", "reason": ""})
    assert response.status_code == 400 and not _codes_to("mallory@evil.example")
    response = client.post(override, {"identified_by": "email", "reason": "Seen in branch with passport"})
    assert response.status_code == 302 and _codes_to("mallory@evil.example")


def test_the_old_address_hears_of_the_change_and_a_retry_never_redirects_the_notice(moved, supervisor_agent):
    notice = CustomerUpdate.objects.get(template="email_changed")
    assert notice.recipient == "kari@example.org" and notice.status == "sent"
    message = next(m for m in mail.outbox if m.to == ["kari@example.org"])
    assert "m***@evil.example" in message.body and "mallory@evil.example" not in message.body
    CustomerUpdate.objects.filter(pk=notice.pk).update(status="failed")
    with pytest.raises(PlaybookError):
        services.retry_customer_update(CustomerUpdate.objects.get(pk=notice.pk), actor=supervisor_agent)
    assert CustomerUpdate.objects.get(pk=notice.pk).recipient == "kari@example.org"


def test_the_address_history_keeps_every_change(kari, supervisor_agent):
    customers.change_customer(kari, actor=supervisor_agent, email="one@example.org", reason="a")
    customers.change_customer(
        Customer.objects.get(pk=kari.pk), actor=supervisor_agent, email="two@example.org", reason="b"
    )
    history = list(kari.email_changes.order_by("changed_at", "pk").values_list("old_email", "new_email", "reason"))
    assert history == [("kari@example.org", "one@example.org", "a"), ("one@example.org", "two@example.org", "b")]
    guard = customers.AddressGuard.of(Customer.objects.get(pk=kari.pk))
    assert guard.previous == "one@example.org"


def test_the_caller_email_codes_still_work_for_an_address_of_long_standing(kari, tier1):
    incident = _open(kari, tier1)
    verification.send_code(incident, identified_by="email", actor=tier1)
    assert _codes_to("kari@example.org")


def test_the_previous_address_is_only_for_when_the_address_of_record_is_on_hold(kari, tier1, supervisor_agent):
    customers.change_customer(kari, actor=supervisor_agent, email="new@example.org", reason="asked")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        incident = _open(Customer.objects.get(pk=kari.pk), tier1)
        with pytest.raises(PlaybookError, match="not on hold"):
            verification.send_code(incident, identified_by="email", actor=tier1, to_previous=True)
        verification.send_code(incident, identified_by="email", actor=tier1)
    assert _codes_to("new@example.org") and not _codes_to("kari@example.org")
