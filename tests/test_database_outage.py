"""A database that cannot be reached: agents get the 503 page that says so, the probe gets 503.

The outage is real: the connection's settings are pointed at a port nobody listens on and the
open connection is closed, so the next statement fails inside psycopg as it would with the
server stopped. Transactional tests, because the connection is closed mid-test.
"""

import socket
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # free once closed: nothing listens there


@contextmanager
def database_down():
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def signed_in(postgres, verified_client, tier1):
    client = verified_client(tier1)
    client.raise_request_exception = False  # answer as production does, instead of raising here
    assert client.get("/").status_code in (200, 302)
    return client


def test_agents_get_a_clear_503_page_while_the_database_is_down(signed_in):
    with database_down():
        page = signed_in.get("/incidents/")
        form = signed_in.post("/incidents/new/", {"summary": "anything"})
    for response in (page, form):
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        text = response.content.decode()
        assert "The desk is briefly unavailable" in text
        assert "Nothing you saved before is lost." in text
        assert "If you had just sent a form, it was not saved" in text
    assert signed_in.get("/incidents/").status_code == 200  # and the desk is back once it is


@pytest.mark.parametrize("with_cookie", [False, True], ids=["no-cookie", "session-cookie"])
def test_healthz_answers_503_during_the_outage_with_or_without_a_session_cookie(signed_in, with_cookie):
    probe = signed_in if with_cookie else Client(raise_request_exception=False)
    assert bool(probe.cookies.get(settings.SESSION_COOKIE_NAME)) is with_cookie
    with database_down():
        response = probe.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"].startswith("error")


def test_other_server_errors_are_still_the_ordinary_500_page(signed_in, monkeypatch):
    from incidents import views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(views.selectors, "incident_list_page", broken)
    response = signed_in.get("/incidents/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
