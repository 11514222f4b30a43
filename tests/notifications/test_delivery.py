"""Customer emails on the real stack: PostgreSQL, a Redis broker, a real Celery worker process and
an aiosmtpd SMTP server in this process that collects what arrives.

The SMTP server counts deliveries by the X-Bulwark-Update header (the outbox row's idempotency
key), which is what "exactly once" is measured by. Every wait polls with a deadline.
"""

import subprocess
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from incidents import emails, services
from notifications import tasks
from notifications.models import CustomerUpdate
from tests.factories import CustomerFactory
from tests.notifications.stack import DEADLINE, free_port, use_broker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _counts(**filters) -> Counter:
    return Counter(CustomerUpdate.objects.filter(**filters).values_list("status", flat=True))


def _queue_many(incident, n: int, prefix: str) -> list[int]:
    """As agents would: each update written and enqueued by its own committed transaction."""
    ids = []
    for i in range(n):
        with transaction.atomic():
            update = emails.notify_customer(incident, template="message", key=f"{prefix}:{i}", message=f"Update {i}")
        ids.append(update.pk)
    return ids


@pytest.fixture
def incident(tier1):
    customer = CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", language="nb")
    return services.open_incident(customer=customer, channel="phone", summary="Payout changed", severity=2, actor=tier1)


def test_a_200_updates_are_each_delivered_exactly_once(worker, smtp, incident):
    """Every row is also enqueued a second time, as a broker redelivery or the sweeper would: the
    row lock and status check keep the second task from sending, with four threads racing."""
    ids = _queue_many(incident, 200, "bulk")
    for pk in ids:
        tasks.enqueue(pk)
    worker(pool="threads")
    wait_for(lambda: _counts()["sent"] == 201, what="201 emails sent")
    keys = smtp.keys()
    assert len(keys) == 201 and set(keys.values()) == {1}
    assert len({m["Message-ID"] for m in smtp.messages}) == 201
    assert set(CustomerUpdate.objects.values_list("attempts", flat=True)) == {1}
    assert all(envelope == ["kari@example.org"] for envelope in smtp.envelopes)


def test_b_two_451_answers_then_delivery_with_attempts_recorded(worker, smtp, incident):
    smtp.transient_failures = 2
    ids = _queue_many(incident, 10, "busy")
    worker()
    wait_for(lambda: _counts()["sent"] == 11, what="11 emails sent after retries")
    assert set(smtp.data_attempts.values()) == {3} and set(smtp.keys().values()) == {1}
    rows = CustomerUpdate.objects.filter(pk__in=ids)
    assert {(row.status, row.attempts, row.last_error) for row in rows} == {("sent", 3, "")}


def test_c_broker_outage_loses_nothing(worker, smtp, tier1, client, verified_client, tmp_path):
    """Agents keep working while the broker is down; the sweeper hands the rows over once it is back."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    use_broker(url)  # nothing listens there yet: the broker is down
    customer = CustomerFactory(email="outage@example.org")
    incident = services.open_incident(customer=customer, channel="chat", summary="x", severity=3, actor=tier1)
    verified_client(tier1)
    started = time.monotonic()
    for i in range(3):
        response = client.post(
            reverse("incidents:incident-note", args=[incident.pk]), {"body": f"Note {i}", "visibility": "customer"}
        )
        assert response.status_code == 302
    assert time.monotonic() - started < 20  # the outage slows the request a little, never fails it
    assert _counts() == {"queued": 4}
    assert tasks.sweep(queued_after=timedelta(0)) == 0  # still down: rows stay for the next sweep

    server = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0)
        worker(broker_url=url)
        assert tasks.sweep(queued_after=timedelta(0)) == 4
        wait_for(lambda: _counts()["sent"] == 4, what="the four queued emails sent")
        assert len(smtp.messages) == 4 and set(smtp.keys().values()) == {1}
    finally:
        server.terminate()
        server.wait(10)


def test_d_worker_killed_while_the_server_holds_its_250_that_one_email_arrives_twice(worker, smtp, incident):
    """SIGKILL the worker while the SMTP server holds one message it has already taken, before the
    worker has heard "250": the one window no client can close (the acceptance is still on the
    wire). The worker never marked it accepted, so once its lease has expired the sweeper queues
    the row again and it is sent a second time, with the same Message-ID and X-Bulwark-Update,
    so the receiving side can tell the copies apart from new mail. Exactly that row, and only it,
    arrives twice; counted by idempotency key every update arrives exactly once.
    """
    ids = _queue_many(incident, 40, "kill")
    smtp.hold_after = 15
    first = worker()
    assert smtp.holding.wait(DEADLINE), "the worker never reached the 15th message"
    first.kill()
    smtp.release.set()
    in_flight = CustomerUpdate.objects.get(status="sending")
    assert _counts()["sent"] == 14

    worker()

    def swept_and_sent():  # what beat does every few seconds
        tasks.sweep(queued_after=timedelta(0))
        return _counts()["sent"] == 41

    wait_for(swept_and_sent, what="all 41 emails sent after the restart")
    keys = smtp.keys()
    assert set(keys) == set(CustomerUpdate.objects.values_list("idempotency_key", flat=True))
    assert {key for key, n in keys.items() if n > 1} == {in_flight.idempotency_key}
    copies = [m for m in smtp.messages if m["X-Bulwark-Update"] == in_flight.idempotency_key]
    assert len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"] == in_flight.message_id
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.attempts) == ("sent", 2)
    assert set(CustomerUpdate.objects.exclude(pk=in_flight.pk).values_list("attempts", flat=True)) == {1}
    assert len(ids) == 40


def test_e_header_injection_is_neutralised_on_the_wire(worker, smtp, tier1):
    customer = CustomerFactory(display_name="Eve\r\nBcc: thief@evil.example", email="eve@example.org")
    incident = services.open_incident(customer=customer, channel="email", summary="x", severity=2, actor=tier1)
    with transaction.atomic():
        forged = emails.notify_customer(incident, template="message", key="forged", message="Hi")
        CustomerUpdate.objects.filter(pk=forged.pk).update(subject="Hi\r\nBcc: thief@evil.example\r\n\r\nbody")
        sneaky = emails.notify_customer(incident, template="message", key="sneaky", message="Hi")
        CustomerUpdate.objects.filter(pk=sneaky.pk).update(recipient="eve@example.org\nBcc: thief@evil.example")
    worker()
    wait_for(lambda: _counts()["sent"] == 2 and _counts()["failed"] == 1, what="two sent, one refused")
    assert smtp.envelopes == [["eve@example.org"], ["eve@example.org"]]
    for message in smtp.messages:
        assert message.get_all("Bcc") is None and message.get_all("To") == ["eve@example.org"]
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert "not a valid email address" in CustomerUpdate.objects.get(pk=sneaky.pk).last_error


def test_f_bad_addresses_fail_cleanly_and_visibly(worker, smtp, tier1, client, verified_client):
    refused = CustomerFactory(email="nobody@reject.example")
    malformed = CustomerFactory(email="kari@@example..org")
    incidents = [
        services.open_incident(customer=c, channel="phone", summary="x", severity=2, actor=tier1)
        for c in (refused, malformed)
    ]
    worker()
    wait_for(lambda: _counts()["failed"] == 2, what="both emails failed")
    by_recipient = {u.recipient: u for u in CustomerUpdate.objects.all()}
    rejected = by_recipient["nobody@reject.example"]
    assert rejected.attempts == 1  # a 5xx answer is final: no retries
    assert rejected.last_error.startswith("Recipient refused by the mail server: 550 5.1.1")
    assert by_recipient["kari@@example..org"].last_error.endswith("is not a valid email address.")
    assert smtp.messages == []
    verified_client(tier1)
    page = client.get(incidents[0].get_absolute_url()).content.decode()
    assert "1 email failed" in page and "Not delivered: Recipient refused by the mail server: 550" in page
    assert "2</span> customer emails failed" in client.get(reverse("incidents:dashboard")).content.decode()
