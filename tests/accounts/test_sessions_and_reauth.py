from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import AgentSession
from tests.factories import PASSWORD, UserFactory, confirmed_totp_device, totp_now

pytestmark = pytest.mark.django_db


def browser(user, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", *, step=0):
    """A real two-step sign-in from a client that says which browser it is.

    `step` moves the clock on by whole TOTP periods, so a second sign-in uses a new code.
    """
    client = Client(HTTP_USER_AGENT=agent)
    device = confirmed_totp_device(user)
    client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    with time_machine.travel(timezone.now() + timedelta(seconds=31 * step)):
        client.post("/accounts/verify/", {"token": totp_now(device)})
    assert client.get("/").status_code == 200
    return client


def test_agent_sees_their_sessions_and_ends_the_others():
    user = UserFactory(roles=["agent"])
    laptop = browser(user)
    phone = browser(user, agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/605.1", step=1)
    page = laptop.get("/accounts/sessions/").content.decode()
    assert "Firefox on Linux" in page and "Safari on iPhone" in page and "this browser" in page
    laptop.post("/accounts/sessions/end/")
    assert phone.get("/")["Location"].startswith("/accounts/login/"), "the phone was signed out"
    assert laptop.get("/").status_code == 200, "the laptop stays signed in"
    assert AgentSession.objects.filter(user=user, ended_at__isnull=True).count() == 1


def test_supervisor_ends_all_sessions_of_an_agent(verified_client, client):
    agent = UserFactory(roles=["agent"])
    agent_browser = browser(agent)
    verified_client(UserFactory(roles=["supervisor"]))
    client.post(f"/accounts/agents/{agent.pk}/end-sessions/")
    assert agent_browser.get("/")["Location"].startswith("/accounts/login/")
    assert not Session.objects.filter(
        session_key__in=AgentSession.objects.filter(user=agent).values("session_key")
    ).exists()


def test_reauthentication_needs_password_and_a_fresh_code(client, verified_client):
    supervisor = UserFactory(roles=["supervisor"])
    victim = UserFactory()
    confirmed_totp_device(victim)
    verified_client(supervisor)
    response = client.post(
        f"/accounts/agents/{victim.pk}/reset-2fa/", HTTP_REFERER="http://testserver/accounts/agents/"
    )
    assert response["Location"].startswith("/accounts/confirm/")
    assert TOTPDevice.objects.filter(user=victim).exists(), "nothing happens before confirming"
    device = TOTPDevice.objects.get(user=supervisor)
    refused = client.post("/accounts/confirm/", {"password": "wrong", "token": totp_now(device)})
    assert "Password or code is not right" in refused.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        client.post(
            "/accounts/confirm/", {"password": PASSWORD, "token": totp_now(device), "next": "/accounts/agents/"}
        )
        client.post(f"/accounts/agents/{victim.pk}/reset-2fa/")
    assert not TOTPDevice.objects.filter(user=victim).exists()


def test_the_agent_is_emailed_when_factors_change(mailoutbox, django_capture_on_commit_callbacks):
    user = UserFactory(email="robin@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        services.issue_backup_codes(user)
        services.reset_two_factor(user, actor=UserFactory(roles=["supervisor"]))
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["robin@example.test"], "Bulwark: your backup codes were replaced"),
        (["robin@example.test"], "Bulwark: your two-factor authentication was reset"),
    ]


def test_a_hundred_failed_codes_in_an_hour_lock_the_second_factor():
    from audit.models import AuditAction
    from audit.services import record

    user = UserFactory()
    device = confirmed_totp_device(user)
    for _ in range(100):
        record(AuditAction.SECOND_FACTOR_FAILED, actor=user, target=user, step="sign_in", reason="wrong_code")
    with pytest.raises(services.TwoFactorError, match="last hour"):
        services.verify_second_factor(user, totp_now(device))
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert services.verify_second_factor(user, totp_now(device)) == device


def test_admin_reset_action_also_needs_a_fresh_confirmation(client, verified_client):
    admin_user = UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True)
    victim = UserFactory()
    confirmed_totp_device(victim)
    verified_client(admin_user)
    data = {"action": "reset_two_factor", "_selected_action": [victim.pk]}
    response = client.post("/admin/accounts/user/", data, follow=True)
    assert "Confirm it is you first" in response.content.decode()
    assert TOTPDevice.objects.filter(user=victim).exists()
    verified_client(admin_user, reauthenticated=True)
    client.post("/admin/accounts/user/", data, follow=True)
    assert not TOTPDevice.objects.filter(user=victim).exists()


def test_admin_grants_roles_and_passwords_only_after_a_fresh_confirmation(client, verified_client):
    from django.contrib.auth.models import Group

    admin_user = UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True)
    agent = UserFactory(roles=["agent"])
    verified_client(admin_user)
    for path in (
        f"/admin/accounts/user/{agent.pk}/change/",
        f"/admin/accounts/user/{agent.pk}/password/",
        "/admin/accounts/user/add/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:reauth")), path
    security = Group.objects.get(name="security")
    response = client.post(f"/admin/accounts/user/{agent.pk}/change/", {"email": agent.email, "groups": [security.pk]})
    assert response["Location"].startswith(reverse("accounts:reauth"))
    assert not agent.groups.filter(name="security").exists()

    verified_client(admin_user, reauthenticated=True)
    assert client.get(f"/admin/accounts/user/{agent.pk}/change/").status_code == 200
