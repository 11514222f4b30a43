import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from incidents import verification
from tests.conftest import verify_session
from tests.factories import PASSWORD, IncidentFactory, UserFactory, confirmed_totp_device, totp_now
from tests.ours import our_apps

pytestmark = pytest.mark.django_db


def test_session_ends_after_30_idle_minutes(client, verified_client):
    verified_client(UserFactory(roles=["agent"]))
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert client.get("/")["Location"].startswith("/accounts/login/")


def test_queue_polling_alone_does_not_keep_an_unattended_tab_signed_in(client, verified_client):
    verified_client(UserFactory(roles=["security"]))
    poll = reverse("incidents:queue-items", args=["security"])
    start = timezone.now()
    assert client.get(reverse("incidents:queue", args=["security"])).status_code == 200
    for minute in range(5, 30, 5):  # the page polls on its own; the agent is away
        with time_machine.travel(start + timedelta(minutes=minute)):
            assert client.get(poll, headers={"HX-Request": "true"}).status_code == 200
    with time_machine.travel(start + timedelta(minutes=31)):
        response = client.get(poll, headers={"HX-Request": "true"})
    # The whole page goes to sign-in, rather than the sign-in form landing inside the queue table.
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("accounts:login")
    with time_machine.travel(start + timedelta(minutes=32)):
        page = client.get("/", follow=True)
    assert page.redirect_chain[-1][0].startswith("/accounts/login/")


def test_real_requests_keep_the_session_going_past_30_minutes(client, verified_client):
    verified_client(UserFactory(roles=["agent"]))
    start = timezone.now()
    for minute in (20, 40, 60):
        with time_machine.travel(start + timedelta(minutes=minute)):
            assert client.get("/").status_code == 200, f"signed out at minute {minute}"


def test_session_ends_after_12_hours_even_when_active(client, verified_client):
    verified_client(UserFactory(roles=["agent"]))
    start = timezone.now()
    for step in range(36):  # a request every 20 minutes keeps the idle limit at bay for 11h40
        with time_machine.travel(start + timedelta(minutes=20 * step)):
            assert client.get("/").status_code == 200, f"signed out after {20 * step} minutes"
    with time_machine.travel(start + timedelta(hours=12, minutes=5)):
        response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "12-hour limit" in response.content.decode()


def test_passwords_codes_and_session_keys_never_reach_the_logs(caplog, django_capture_on_commit_callbacks):
    user = UserFactory(roles=["agent"])
    device = confirmed_totp_device(user)
    incident = IncidentFactory()
    caplog.set_level(logging.DEBUG)  # from here on: only what the app itself logs
    client = Client()
    client.post("/accounts/login/", {"username": user.email, "password": "a wrong password!"})
    client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    code = totp_now(device)
    client.post("/accounts/verify/", {"token": code})
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        verification.send_code(incident, identified_by="email", actor=user)
    caller_code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    verification.check_code(incident, code=caller_code, actor=user)
    logged = caplog.text
    for secret in (PASSWORD, "a wrong password!", code, caller_code, client.cookies["sessionid"].value):
        assert secret not in logged


def _post_urls():
    """Every routed URL of the desk's own apps, with sample arguments."""
    from tests.accounts.test_url_access import ROUTES

    return [path for (name, path), _ in ROUTES if name.split(":")[0] in our_apps()]


def test_every_state_changing_url_refuses_a_post_without_the_csrf_token():
    user = UserFactory(roles=["supervisor"], is_staff=True)
    strict = verify_session(Client(enforce_csrf_checks=True), user)
    refused = 0
    for path in _post_urls():
        response = strict.post(path, {})
        if response.status_code == 405:  # GET-only page
            continue
        assert response.status_code == 403, f"{path} accepted a POST without the CSRF token"
        refused += 1
    assert refused >= 25


def test_the_url_walk_sees_the_incident_urls():
    assert reverse("incidents:incident-note", args=[1]) in _post_urls()
    assert get_resolver()
