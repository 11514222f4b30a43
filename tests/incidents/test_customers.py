"""The customer directory (search by name, email, account reference), the customer's page with
their incidents, and the warning before opening a second incident for a customer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry
from incidents import services
from incidents.models import Incident
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_directory_finds_customers_by_name_email_and_reference(client, verified_client, tier1, customer):
    CustomerFactory(display_name="Zofia Kowalska", email="zofia@example.pl", account_reference="ACC-7001")
    verified_client(tier1)
    for query, found, not_found in (
        ("kari", "Kari Nordmann", "Zofia"),
        ("zofia@example", "Zofia Kowalska", "Kari"),
        ("acc-7001", "Zofia Kowalska", "Kari"),
        ("kari nord", "Kari Nordmann", "Zofia"),
    ):
        html = client.get(reverse("incidents:customer-list"), {"q": query}).content.decode()
        assert found in html and not_found not in html.split("<tbody>")[1], query
    html = client.get(reverse("incidents:customer-list"), {"q": "nobody-like-this"}).content.decode()
    assert "No customer matches" in html


def test_the_directory_costs_the_same_queries_for_few_or_many_customers(client, verified_client, tier1):
    CustomerFactory.create_batch(3)
    verified_client(tier1)
    client.get(reverse("incidents:customer-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("incidents:customer-list"), {"q": "a"})
    CustomerFactory.create_batch(40)
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("incidents:customer-list"), {"q": "a"}).content.decode()
    assert len(many) == len(few)
    assert "older=" in html  # paged


def test_the_customer_page_lists_their_incidents_and_is_on_the_record(client, verified_client, tier1, customer):
    first = services.open_incident(customer=customer, channel="phone", summary="Payee", severity=2, actor=tier1)
    second = services.open_incident(customer=customer, channel="email", summary="Login", severity=3, actor=tier1)
    other = services.open_incident(customer=CustomerFactory(), channel="chat", summary="Other", severity=1, actor=tier1)
    verified_client(tier1)
    html = client.get(customer.get_absolute_url()).content.decode()
    assert first.reference in html and second.reference in html and other.reference not in html
    assert "2 open" in html
    assert AuditEntry.objects.filter(action="customer.viewed", customer_id=customer.pk).exists()
    with CaptureQueriesContext(connection) as few:
        client.get(customer.get_absolute_url())
    for _ in range(10):
        services.open_incident(customer=customer, channel="phone", summary="More", severity=2, actor=tier1)
    with CaptureQueriesContext(connection) as many:
        client.get(customer.get_absolute_url())
    assert len(many) == len(few)


def test_opening_a_second_incident_warns_with_a_link_and_asks_to_confirm(client, verified_client, tier1, customer):
    existing = services.open_incident(customer=customer, channel="phone", summary="Payee", severity=2, actor=tier1)
    verified_client(tier1)
    html = client.get(reverse("incidents:incident-create"), {"customer": customer.account_reference}).content.decode()
    assert 'id="already-open"' in html and f'href="/incidents/{existing.pk}/"' in html
    data = {"customer_query": customer.email, "channel": "phone", "severity": "2", "summary": "Another thing"}
    response = client.post(reverse("incidents:incident-create"), data)
    assert response.status_code == 409 and existing.reference in response.content.decode()
    assert "Another thing" in response.content.decode()  # what was typed is kept
    assert Incident.objects.filter(customer=customer).count() == 1
    response = client.post(reverse("incidents:incident-create"), {**data, "open_anyway": "1"})
    assert response.status_code == 302
    assert Incident.objects.filter(customer=customer).count() == 2


def test_the_customer_page_hides_restricted_incidents_from_tier_1(client, verified_client, tier1, customer):
    from tests.factories import IncidentFactory

    hidden = IncidentFactory(customer=customer, restricted=True)
    shown = IncidentFactory(customer=customer)
    verified_client(tier1)
    html = client.get(customer.get_absolute_url()).content.decode()
    assert shown.reference in html and hidden.reference not in html
