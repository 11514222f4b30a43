import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from tests.factories import PASSWORD, UserFactory, confirmed_totp_device, totp_now

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client, user, password=PASSWORD):
    return client.post(LOGIN, {"username": user.email, "password": password})


def secret_on_page(response) -> str:
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', response.content.decode())
    assert match, "the enrolment page must show the secret as text"
    return match.group(1).replace(" ", "")


def test_first_sign_in_forces_enrolment_and_a_code_from_the_shown_secret_is_accepted(client):
    user = UserFactory(roles=["agent"])
    response = sign_in(client, user)
    assert response.status_code == 302
    response = client.get(response["Location"], follow=True)
    assert response.request["PATH_INFO"] == "/accounts/enrol/"
    secret = secret_on_page(response)
    assert 'src="data:image/svg+xml;base64,' in response.content.decode()  # the QR code

    # The agent's phone computes the code from the secret it was shown.
    from base64 import b32decode

    from django_otp.oath import TOTP

    code = f"{TOTP(b32decode(secret)).token():06d}"
    response = client.post("/accounts/enrol/", {"token": code, "next": "/"})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(codes) == 10, "ten backup codes are shown once"
    assert "shown only now" in response.content.decode()

    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Good to see you" in dashboard.content.decode()


def test_wrong_enrolment_code_is_refused_and_the_secret_stays_the_same(client):
    user = UserFactory()
    sign_in(client, user)
    first = secret_on_page(client.get("/accounts/enrol/"))
    response = client.post("/accounts/enrol/", {"token": "000000"})
    assert "did not match" in response.content.decode()
    assert secret_on_page(response) == first
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_enrolment_code_cannot_be_replayed_at_next_sign_in(client):
    user = UserFactory()
    sign_in(client, user)
    client.get("/accounts/enrol/")
    device = TOTPDevice.objects.get(user=user)
    code = totp_now(device)
    client.post("/accounts/enrol/", {"token": code})
    client.post(reverse("accounts:logout"))

    sign_in(client, user)
    response = client.post("/accounts/verify/", {"token": code})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get("/").status_code == 302


def test_agent_with_an_authenticator_cannot_enrol_another_with_only_the_password(client):
    user = UserFactory()
    confirmed_totp_device(user)
    sign_in(client, user)
    response = client.get("/accounts/enrol/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/verify/")
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_sign_in_with_password_then_code_reaches_the_page_asked_for(client):
    user = UserFactory()
    device = confirmed_totp_device(user)
    response = client.get("/audit/")
    assert response["Location"] == "/accounts/login/?next=/audit/"
    response = client.post(
        LOGIN + "?next=/accounts/profile/", {"username": user.email, "password": PASSWORD, "next": "/accounts/profile/"}
    )
    assert response["Location"].startswith("/accounts/verify/")
    response = client.post(response["Location"], {"token": totp_now(device), "next": "/accounts/profile/"})
    assert response["Location"] == "/accounts/profile/"
    assert client.get("/accounts/profile/").status_code == 200


def test_session_key_changes_after_each_factor(client):
    user = UserFactory()
    device = confirmed_totp_device(user)
    client.get(LOGIN)
    before = client.cookies.get("sessionid")
    sign_in(client, user)
    after_password = client.cookies["sessionid"].value
    client.post("/accounts/verify/", {"token": totp_now(device)})
    after_code = client.cookies["sessionid"].value
    assert after_password != after_code
    assert before is None or before.value != after_password


def test_accepted_totp_code_cannot_be_used_again(client):
    user = UserFactory()
    device = confirmed_totp_device(user)
    code = totp_now(device)
    assert services.verify_second_factor(user, code) == device
    with pytest.raises(services.TwoFactorError, match="not valid"):
        services.verify_second_factor(user, code)


def test_next_time_step_code_is_accepted_after_a_used_one():
    user = UserFactory()
    device = confirmed_totp_device(user)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        services.verify_second_factor(user, totp_now(device))
        clock.shift(timedelta(seconds=31))
        device.refresh_from_db()
        assert services.verify_second_factor(user, totp_now(device)) == device


def test_backup_code_signs_in_once_only(client):
    user = UserFactory()
    confirmed_totp_device(user)
    codes = services.issue_backup_codes(user)
    sign_in(client, user)
    response = client.post("/accounts/verify/", {"token": codes[0].upper()})
    assert response.status_code == 302
    assert StaticToken.objects.filter(device__user=user).count() == 9
    client.post(reverse("accounts:logout"))

    sign_in(client, user)
    response = client.post("/accounts/verify/", {"token": codes[0]})
    assert "not valid" in response.content.decode()


def test_wrong_codes_are_throttled_with_a_clear_wait():
    user = UserFactory()
    device = confirmed_totp_device(user)
    with time_machine.travel(timezone.now(), tick=False):
        with pytest.raises(services.TwoFactorError, match="not valid"):
            services.verify_second_factor(user, "000000")
        with pytest.raises(services.TwoFactorError, match=r"Too many wrong codes\. Wait \d+ seconds"):
            services.verify_second_factor(user, totp_now(device))


def test_repeated_password_failures_lock_the_account_with_a_clear_message(client, settings):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, user, password="wrong password")
        assert "do not match" in response.content.decode()
    assert sign_in(client, user, password="wrong password").status_code == 429
    response = sign_in(client, user)  # the right password no longer helps
    assert response.status_code == 429
    assert "temporarily locked" in response.content.decode()


def test_expired_access_refuses_sign_in_with_a_clear_message(client):
    user = UserFactory(access_expires_at=timezone.now() - timedelta(minutes=1))
    response = sign_in(client, user)
    assert response.status_code == 200
    assert "Your access to Bulwark ended on" in response.content.decode()


def test_access_expiring_during_a_session_ends_it(client, verified_client):
    user = UserFactory(access_expires_at=timezone.now() + timedelta(minutes=20))
    verified_client(user)
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=21)):  # still within the idle limit
        response = client.get("/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert "Your access to Bulwark has ended" in response.content.decode()


def test_supervisor_resets_an_agents_two_factor_and_the_agent_must_enrol_again(client, verified_client):
    agent = UserFactory(roles=["agent"])
    confirmed_totp_device(agent)
    services.issue_backup_codes(agent)
    supervisor = UserFactory(roles=["supervisor"])
    verified_client(supervisor, reauthenticated=True)
    response = client.post(f"/accounts/agents/{agent.pk}/reset-2fa/", follow=True)
    assert "was reset" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=agent).exists()

    client.post(reverse("accounts:logout"))
    response = sign_in(client, agent)
    response = client.get(response["Location"])
    assert response["Location"].startswith("/accounts/enrol/")


def test_only_supervisors_may_reset_two_factor(client, verified_client):
    victim = UserFactory()
    confirmed_totp_device(victim)
    verified_client(UserFactory(roles=["agent", "security"]))
    assert client.post(f"/accounts/agents/{victim.pk}/reset-2fa/").status_code == 403
    assert TOTPDevice.objects.filter(user=victim).exists()


def test_admin_offers_no_page_that_shows_second_factor_secrets():
    from django.contrib import admin
    from django_otp.plugins.otp_static.models import StaticDevice

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)
