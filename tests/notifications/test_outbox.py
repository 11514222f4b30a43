"""The outbox on the embedded default: delivery, failure, retry, the sweeper and what agents see.

Failures come from the real SMTP backend pointed at a port nobody listens on, or from addresses
that no mail server could take; nothing here replaces the mail machinery with a mock.
"""

import re
import socket
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from incidents import emails, services
from notifications import delivery, rendering, tasks
from notifications.models import CustomerUpdate
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # released on close: nothing listens there now


@pytest.fixture
def as_agent(client, verified_client, tier1):
    verified_client(tier1)
    return client


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2


def _queued_row(incident, **fields) -> CustomerUpdate:
    """A row as notify_customer writes it, without sending it yet."""
    subject, text, html = rendering.render_update(
        "message", "en", {**emails.customer_context(incident), "message": "Hi"}
    )
    values = {
        "incident": incident,
        "template": "message",
        "language": "en",
        "recipient": incident.customer.email,
        "idempotency_key": f"{incident.pk}:test:{CustomerUpdate.objects.count()}",
        "subject": subject,
        "body_text": text,
        "body_html": html,
    }
    return CustomerUpdate.objects.create(**{**values, **fields})


def test_acknowledgement_goes_out_once_in_the_customers_language_with_a_stable_message_id(incident):
    update = incident.customer_updates.get(template="acknowledgement")
    assert update.status == "sent" and update.attempts == 1 and update.sent_at
    [message] = mail.outbox
    assert message.subject == f"[{incident.reference}] Vi ser på den uvanlige aktiviteten på kontoen din"
    assert (
        message.extra_headers["Message-ID"] == update.message_id == f"<{incident.pk}.acknowledgement@bulwark.localhost>"
    )
    assert message.extra_headers["X-Bulwark-Update"] == update.idempotency_key
    assert '<html lang="nb" dir="ltr">' in message.alternatives[0][0]

    assert delivery.deliver(update.pk) == "sent"  # a redelivered task
    update.refresh_from_db()
    assert len(mail.outbox) == 1 and update.attempts == 1


@pytest.mark.parametrize(
    "error, expected",
    [
        (
            "(550, b'5.1.1 <kari.nordmann@example.org>: Recipient address rejected')",
            "(550, b'5.1.1 <<address>>: Recipient address rejected')",
        ),
        ("{'Ana.Lopez+bank@Example.ORG': (550, b'no such user')}", "{'<address>': (550, b'no such user')}"),
        (
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ),
    ],
)
def test_delivery_errors_lose_their_addresses_before_the_log_and_audit_trail(error, expected):
    assert delivery.without_addresses(error) == expected


def test_a_transient_failure_keeps_the_row_queued_with_the_error_for_the_retry(incident, smtp_down):
    update = _queued_row(incident)
    with pytest.raises(delivery.DeliveryError):
        delivery.deliver(update.pk, final_attempt=False)
    update.refresh_from_db()
    assert (update.status, update.attempts) == ("queued", 1)
    assert "ConnectionRefusedError" in update.last_error


def test_eager_mode_gives_up_at_once_and_the_incident_shows_it(as_agent, incident, smtp_down):
    services.add_note(incident, body="We are on it.", visibility="customer", actor=incident.opened_by)
    update = incident.customer_updates.get(template="message")
    assert (update.status, update.attempts) == ("failed", 1)
    page = as_agent.get(incident.get_absolute_url()).content.decode()
    assert "1 email failed" in page and "Not delivered: ConnectionRefusedError" in page
    assert AuditEntry.objects.filter(action=AuditAction.EMAIL_FAILED, target_id=str(update.pk)).exists()


def test_a_bad_address_fails_cleanly_without_retries_and_is_visible(as_agent, tier1):
    customer = CustomerFactory(email="kari@@example..org")  # saved around form validation
    incident = services.open_incident(customer=customer, channel="phone", summary="x", severity=2, actor=tier1)
    update = incident.customer_updates.get()
    assert update.status == "failed" and update.attempts == 1
    assert update.last_error == "Recipient address 'kari@@example..org' is not a valid email address."
    # The audit trail cannot be erased later, so it names the update, never the address.
    failed = AuditEntry.objects.get(action=AuditAction.EMAIL_FAILED, target_id=str(update.pk))
    assert failed.data["error"] == "Recipient address '<address>' is not a valid email address."
    assert "kari" not in str(failed.data)
    assert mail.outbox == []
    dashboard = as_agent.get(reverse("incidents:dashboard")).content.decode()
    assert "1</span> customer email failed" in dashboard and incident.reference in dashboard


def test_header_injection_in_name_address_and_subject_is_neutralised(tier1):
    customer = CustomerFactory(display_name="Eve\r\nBcc: thief@evil.example", email="eve@example.org")
    incident = services.open_incident(customer=customer, channel="phone", summary="x", severity=2, actor=tier1)
    forged = _queued_row(incident, subject="Hello\r\nBcc: thief@evil.example\n\nfake body")
    sneaky = _queued_row(incident, recipient="eve@example.org\r\nBcc: thief@evil.example")
    assert delivery.deliver(forged.pk) == "sent"
    assert delivery.deliver(sneaky.pk, final_attempt=True) == "failed"
    for message in mail.outbox:
        headers, _, _body = message.message().as_string().partition("\n\n")
        assert message.recipients() == ["eve@example.org"]
        assert not re.search(r"^(Bcc|Cc|To): .*thief", headers, re.MULTILINE)
        assert "Eve Bcc: thief@evil.example" in message.body  # the name stays on its own line, harmless
    assert [m.subject for m in mail.outbox][-1] == "Hello Bcc: thief@evil.example fake body"
    assert "not a valid email address" in CustomerUpdate.objects.get(pk=sneaky.pk).last_error


def test_the_sweeper_re_enqueues_rows_the_broker_never_got_and_leaves_fresh_ones(incident):
    stale = _queued_row(incident)
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        fresh = _queued_row(incident, created_at=timezone.now(), updated_at=timezone.now())
        assert tasks.sweep_customer_updates() == 1
    stale.refresh_from_db(), fresh.refresh_from_db()
    assert stale.status == "sent" and fresh.status == "queued"


def test_the_sweeper_picks_up_a_row_a_dead_worker_left_sending(incident):
    row = _queued_row(incident, status="sending", attempts=1)
    assert tasks.sweep() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert tasks.sweep() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)


def test_agent_retries_a_failed_email_to_the_corrected_address(as_agent, tier1):
    customer = CustomerFactory(email="typo@@example.org")
    incident = services.open_incident(customer=customer, channel="phone", summary="x", severity=2, actor=tier1)
    update = incident.customer_updates.get()
    customer.email = "fixed@example.org"
    customer.save()
    url = reverse("incidents:update-retry", args=[incident.pk, update.pk])
    response = as_agent.post(url, follow=True)
    update.refresh_from_db()
    assert (update.status, update.attempts, update.recipient) == ("sent", 2, "fixed@example.org")
    assert mail.outbox[-1].to == ["fixed@example.org"]
    assert "is queued again for fixed@example.org" in response.content.decode()
    retried = AuditEntry.objects.filter(action=AuditAction.EMAIL_QUEUED, target_id=str(update.pk)).latest("seq")
    assert retried.data == {"retry": True, "attempts_before": 1, "address_changed": True}
    assert retried.actor == tier1

    again = as_agent.post(url, follow=True).content.decode()
    assert "Only a failed email can be sent again; this one is sent." in again
    assert len(mail.outbox) == 1


def test_retry_of_another_incidents_email_is_not_found(as_agent, incident, tier1):
    other = services.open_incident(
        customer=CustomerFactory(), channel="phone", summary="y", severity=2, actor=tier1
    ).customer_updates.get()
    assert as_agent.post(reverse("incidents:update-retry", args=[incident.pk, other.pk])).status_code == 404
    assert as_agent.get(reverse("incidents:update-retry", args=[incident.pk, other.pk])).status_code == 405


def test_backoff_doubles_with_jitter(settings):
    settings.EMAIL_RETRY_BASE_SECONDS = 10
    for retries, (low, high) in enumerate([(5, 10), (10, 20), (20, 40), (40, 80)]):
        delays = {tasks.backoff(retries) for _ in range(20)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1


def test_the_sweeper_leaves_a_row_waiting_for_its_retry_until_it_is_due(incident):
    """A row the mail server turned away waits for its back-off (retry_at), not for the sweeper."""
    waiting = _queued_row(incident, retry_at=timezone.now() + timedelta(seconds=80))
    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        assert tasks.sweep() == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=80) + tasks.SWEEP_QUEUED_AFTER):
        assert tasks.sweep() == 1
    waiting.refresh_from_db()
    assert waiting.status == "sent"
