"""Sign-in, second factor, enrolment, resets, lockout and sign-out each leave one audit entry,
and none of them stores a password, a code or a session key."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditAction, AuditEntry
from tests.factories import PASSWORD, UserFactory, confirmed_totp_device, totp_now

pytestmark = pytest.mark.django_db


def actions():
    """The domain events, in order (model.changed entries chain auditlog's field changes)."""
    entries = AuditEntry.objects.exclude(action=AuditAction.MODEL_CHANGED).order_by("seq")
    return list(entries.values_list("action", flat=True))


def last(action):
    return AuditEntry.objects.filter(action=action).order_by("-seq").first()


def stored_text() -> str:
    """Everything the entries say, but their hashes (hex digits could match a numeric code)."""
    rows = AuditEntry.objects.values()
    return json.dumps([{k: v for k, v in row.items() if k not in ("hash", "prev_hash")} for row in rows], default=str)


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR="192.0.2.7")


def test_a_full_sign_in_is_recorded_step_by_step_without_any_secret(client):
    agent = UserFactory(roles=["agent"])
    device = confirmed_totp_device(agent)
    sign_in(client, agent.email, "wrong password 1")
    sign_in(client, agent.email)
    client.post("/accounts/verify/", {"token": "000000"})
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):  # past the throttle
        code = totp_now(device)
        client.post("/accounts/verify/", {"token": code})
    session_key = client.session.session_key
    client.post("/accounts/logout/")

    assert actions() == [
        AuditAction.SIGN_IN_FAILED,
        AuditAction.SIGN_IN,
        AuditAction.SECOND_FACTOR_FAILED,
        AuditAction.SECOND_FACTOR_PASSED,
        AuditAction.SIGN_OUT,
    ]
    failed = last(AuditAction.SIGN_IN_FAILED)
    assert (failed.actor, failed.target_id, failed.data) == (None, str(agent.pk), {"known_account": True})
    assert failed.ip_address == "192.0.2.7" and failed.request_id
    assert last(AuditAction.SECOND_FACTOR_FAILED).data == {"step": "sign_in", "method": "totp", "reason": "wrong_code"}
    assert last(AuditAction.SECOND_FACTOR_PASSED).actor == agent

    stored = stored_text()
    for secret in (PASSWORD, "wrong password 1", "000000", code, session_key):
        assert secret not in stored


def test_a_password_typed_into_the_email_field_is_not_recorded(client):
    sign_in(client, "hunter2@pass.word")
    entry = last(AuditAction.SIGN_IN_FAILED)
    assert entry.data == {"known_account": False}
    assert "hunter2@pass.word" not in stored_text()


def test_enrolment_and_its_backup_codes_are_recorded(client):
    agent = UserFactory()
    sign_in(client, agent.email)
    client.get("/accounts/enrol/")
    client.post("/accounts/enrol/", {"token": "000000"})
    device = TOTPDevice.objects.get(user=agent)
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):  # past the throttle
        response = client.post("/accounts/enrol/", {"token": totp_now(device)})
    assert response.status_code == 200
    assert actions() == [
        AuditAction.SIGN_IN,
        AuditAction.SECOND_FACTOR_FAILED,
        AuditAction.TWO_FACTOR_ENROLLED,
        AuditAction.BACKUP_CODES_ISSUED,
    ]
    assert last(AuditAction.SECOND_FACTOR_FAILED).data["step"] == "enrolment"
    assert last(AuditAction.TWO_FACTOR_ENROLLED).actor == agent
    assert last(AuditAction.BACKUP_CODES_ISSUED).data == {"count": 10}
    stored = stored_text()
    for code in device.user.staticdevice_set.get().token_set.values_list("token", flat=True):
        assert code not in stored


def test_a_supervisor_resetting_two_factor_is_the_actor_of_the_reset(client, verified_client):
    supervisor = UserFactory(roles=["supervisor"])
    agent = UserFactory(roles=["agent"])
    confirmed_totp_device(agent)
    verified_client(supervisor, reauthenticated=True).post(f"/accounts/agents/{agent.pk}/reset-2fa/")
    entry = last(AuditAction.TWO_FACTOR_RESET)
    assert (entry.actor, entry.target_type, entry.target_id) == (supervisor, "accounts.user", str(agent.pk))
    assert entry.data == {"authenticators_removed": 1}


@override_settings(AXES_FAILURE_LIMIT=3)
def test_lockout_is_recorded_against_the_targeted_account(client):
    agent = UserFactory()
    for attempt in range(3):
        sign_in(client, agent.email, f"wrong {attempt}")
    entry = last(AuditAction.LOCKED_OUT)
    assert entry is not None
    assert (entry.target_id, entry.data, entry.ip_address) == (str(agent.pk), {"known_account": True}, "192.0.2.7")
