"""Presence: another agent sees "X is viewing / editing this incident" within one ping, it expires
by itself, it works on the embedded SQLite default (state in the database) and it costs fixed queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import presence
from incidents.models import Presence
from tests.conftest import verify_session
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _ping(client, incident, editing="0"):
    response = client.post(reverse("incidents:incident-presence", args=[incident.pk]), {"editing": editing})
    assert response.status_code == 200
    return response.content.decode()


def test_another_agent_is_seen_viewing_then_editing_and_expires(incident, tier1):
    kari, ola = Client(), Client()
    verify_session(kari, UserFactory(roles=["agent"], full_name="Kari Agent"))
    verify_session(ola, tier1)
    assert "Kari Agent" not in _ping(ola, incident)
    _ping(kari, incident)
    assert "<strong><bdi>Kari Agent</bdi></strong> is viewing this incident" in _ping(ola, incident)
    _ping(kari, incident, editing="1")
    assert "<strong><bdi>Kari Agent</bdi></strong> is editing this incident" in _ping(ola, incident)
    assert "Alex Agent" not in _ping(ola, incident)  # never yourself
    Presence.objects.update(seen_at=Presence.objects.get(agent__full_name="Kari Agent").seen_at - timedelta(
        seconds=presence.PRESENCE_SECONDS + 1))  # fmt: skip
    assert "Kari Agent" not in _ping(ola, incident)  # Kari left: gone without anyone clearing it


def test_the_incident_page_polls_presence_without_inline_script(client, verified_client, incident, tier1):
    verified_client(tier1)
    html = client.get(incident.get_absolute_url()).content.decode()
    assert f'hx-post="/incidents/{incident.pk}/presence/"' in html and "every 4s" in html
    assert 'id="presence-ping"' in html and 'name="csrfmiddlewaretoken"' in html.split('id="presence-ping"')[1]
    assert "<script>" not in html and "onclick" not in html


def test_presence_costs_the_same_queries_for_one_or_many_agents(incident, tier1):
    me = Client()
    verify_session(me, tier1)
    _ping(me, incident)
    with CaptureQueriesContext(connection) as one:
        _ping(me, incident)
    for n in range(8):
        other = Client()
        verify_session(other, UserFactory(roles=["agent"], full_name=f"Agent {n}"))
        _ping(other, incident)
    with CaptureQueriesContext(connection) as many:
        html = _ping(me, incident)
    assert len(many) == len(one) and html.count("is viewing this incident") == 8


def test_an_agent_who_may_not_see_the_incident_cannot_ping_it(incident):
    from tests.factories import IncidentFactory

    hidden = IncidentFactory(restricted=True)
    client = Client()
    verify_session(client, UserFactory(roles=["agent"]))
    assert client.post(reverse("incidents:incident-presence", args=[hidden.pk])).status_code == 404
