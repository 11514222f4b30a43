"""django-auditlog records who changed an agent's access, never secrets, and masks personal data."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit import context
from audit.registry import MASK, AuditlogContextMiddleware, acting_as, track
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def entries_for(user):
    return LogEntry.objects.get_for_object(user).order_by("pk")


def test_access_changes_are_recorded_with_the_actor_and_personal_data_masked():
    supervisor = UserFactory(roles=["supervisor"])
    agent = UserFactory(email="kim.park@example.test", full_name="Kim Park")
    with acting_as(supervisor):
        agent.is_active = False
        agent.full_name = "Kim Park-Lee"
        agent.save()
        agent.groups.add(Group.objects.get(name="security"))
    created, changed, roles = entries_for(agent)
    assert created.action == LogEntry.Action.CREATE
    assert created.changes["email"] == [None, MASK]
    assert changed.actor == supervisor
    assert changed.changes == {"is_active": [True, False], "full_name": [MASK, MASK]}
    assert roles.changes["groups"]["operation"] == "add"
    assert roles.changes["groups"]["objects"] == ["security"]
    everything = repr([(e.object_repr, e.changes, e.additional_data) for e in entries_for(agent)])
    assert "Kim" not in everything and "kim.park" not in everything
    assert created.object_repr == f"agent #{agent.pk}"


def test_password_and_second_factor_changes_leave_no_trace_in_auditlog():
    agent = UserFactory()
    before = LogEntry.objects.count()
    agent.set_password("a brand new secret passphrase")
    agent.save()
    TOTPDevice.objects.create(user=agent, name="Authenticator app")
    StaticDevice.objects.create(user=agent, name="Backup codes").token_set.create(token="abcd2345")
    assert LogEntry.objects.count() == before
    recorded = repr(list(LogEntry.objects.values_list("changes", flat=True)))
    assert agent.password not in recorded
    assert agent.password.split("$")[-1] not in recorded  # not even the digest alone


def test_request_binds_actor_address_and_request_id_to_model_changes():
    supervisor = UserFactory()
    agent = UserFactory()
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    request.user = supervisor

    def change(_request):
        agent.access_expires_at = None
        agent.is_active = False
        agent.save()

    token = context.bind(context.RequestContext(request_id="req-123", ip_address="203.0.113.9"))
    try:
        AuditlogContextMiddleware(change)(request)
    finally:
        context.reset(token)
    entry = entries_for(agent).last()
    assert (entry.actor, entry.remote_addr, entry.cid) == (supervisor, "203.0.113.9", "req-123")


def test_registering_secrets_or_otp_models_is_refused_at_start_up():
    with pytest.raises(ImproperlyConfigured, match="secret"):
        track(User, include=["email", "password"])
    with pytest.raises(ImproperlyConfigured, match="never be recorded"):
        track(TOTPDevice, include=["name"])
    with pytest.raises(ImproperlyConfigured, match="explicit include"):
        track(User, include=[])
