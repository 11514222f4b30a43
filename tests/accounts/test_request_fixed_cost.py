"""What a signed-in request costs before its view runs. The floor view (one query of its own) is
measured the way `make bench` measures it: at most two statements beyond its own, the session read
and the agent read with their roles and device, once the minute's activity stamp is written."""

import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services, sessions
from accounts.middleware import LAST_ACTIVE_KEY
from accounts.models import AgentSession
from accounts.sessions import RECORDED_KEY
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.floor_urls")]
FLOOR = "/bench/floor/"


def statements(client, path=FLOOR) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in queries.captured_queries]


def test_the_floor_costs_its_own_query_and_two_more(client, verified_client):
    verified_client(UserFactory(roles=["security"]))
    client.get(FLOOR)  # the first request records the browser and stamps activity
    sql = statements(client)
    assert len(sql) == 3, sql
    assert sql[0].startswith('SELECT "django_session"')
    assert "accounts_user" in sql[1] and "otp_totp_totpdevice" in sql[1] and "auth_group" in sql[1]
    assert "incidents_incident" in sql[2]


def test_activity_is_written_once_a_minute_not_on_every_request(client, verified_client):
    user = UserFactory(roles=["agent"])
    verified_client(user)
    client.get(FLOOR)
    session = client.session
    stamped, recorded = session[LAST_ACTIVE_KEY], session[RECORDED_KEY]
    for _ in range(3):
        assert not any(s.startswith("UPDATE") for s in statements(client))
    session = client.session
    session[LAST_ACTIVE_KEY] = stamped - 61
    session[RECORDED_KEY] = [recorded[0], recorded[1] - 61]
    session.save()
    writes = [s for s in statements(client) if s.startswith("UPDATE")]
    assert any("django_session" in s for s in writes) and any("accounts_agentsession" in s for s in writes)
    assert client.session[LAST_ACTIVE_KEY] >= int(time.time()) - 1
    assert AgentSession.objects.get(user=user).last_seen.timestamp() >= time.time() - 5


@pytest.mark.parametrize(
    "change",
    ["role removed", "access expired", "deactivated", "second factor reset", "session ended", "password changed"],
)
def test_a_change_to_the_agent_takes_effect_on_the_very_next_request(client, verified_client, change):
    supervisor = UserFactory(roles=["supervisor"], is_superuser=True)
    agent = UserFactory(roles=["security"])
    verified_client(agent)
    assert client.get("/queue/security/").status_code == 200
    if change == "role removed":
        agent.groups.remove(Group.objects.get(name="security"))
    elif change == "access expired":
        type(agent).objects.filter(pk=agent.pk).update(access_expires_at="2000-01-01T00:00:00Z")
    elif change == "deactivated":
        type(agent).objects.filter(pk=agent.pk).update(is_active=False)
    elif change == "second factor reset":
        services.reset_two_factor(agent, actor=supervisor)
    elif change == "session ended":
        sessions.end_sessions(agent, actor=supervisor)
    elif change == "password changed":
        agent.set_password("another long passphrase 9")
        agent.save(update_fields=["password"])
    response = client.get("/queue/security/")
    assert response.status_code in (302, 403), (change, response.status_code)
