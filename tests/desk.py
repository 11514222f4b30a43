"""Fixtures and helpers of the desk's tests: agents of each role, a customer, an incident opened
through the services, the caller verified with the code the customer really received, an incident
walked to a stage through the services.

Registered for every test directory by the root conftest; the tests of the apps that send emails
run on_commit work at once (`after_commit_at_once`, autouse in their conftest).
"""

import re

import pytest
from django.core import mail
from django.db import transaction

from incidents import services, verification
from incidents.models import Incident, Stage
from notifications.models import CustomerUpdate
from tests.factories import CustomerFactory, UserFactory


@pytest.fixture
def tier1(db):
    return UserFactory(roles=["agent"], full_name="Alex Agent")


@pytest.fixture
def security_agent(db):
    return UserFactory(roles=["security"], full_name="Sasha Security")


@pytest.fixture
def supervisor_agent(db):
    return UserFactory(roles=["supervisor"], full_name="Sam Supervisor")


@pytest.fixture
def customer(db):
    return CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", language="nb")


@pytest.fixture
def incident(customer, tier1):
    return services.open_incident(
        customer=customer, channel="phone", summary="Payout account changed", severity=2, actor=tier1
    )


def sent_code(incident) -> str:
    """The code the customer received (read from the email before it is masked)."""
    update = CustomerUpdate.objects.filter(incident=incident, template="verification_code").latest("pk")
    for message in reversed(mail.outbox):
        if message.extra_headers.get("X-Bulwark-Update") == update.idempotency_key:
            return re.search(r"\b(\d{6})\b", message.body).group(1)
    raise AssertionError("no verification email was sent")


def verify_caller(incident, actor):
    verification.send_code(incident, identified_by="account_reference", actor=actor)
    result = verification.check_code(incident, code=sent_code(incident), actor=actor)
    assert result.verified, result.message


@pytest.fixture
def after_commit_at_once(request, monkeypatch):
    """Tests in a wrapping transaction never commit, so on_commit work (sending emails) would never
    run: run it right away instead. Tests marked django_db(transaction=True) keep the real behaviour."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        return
    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


def fresh(incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def walk_to(incident, stage, actor):
    """Drive an incident through the real services up to `stage`."""
    steps = {
        Stage.CONFIRM: lambda i: services.record_unauthorized_change(
            i,
            kind="transaction",
            description="New payee added",
            noticed_at=None,
            actor=actor,
            expected_version=i.version,
        ),
        Stage.SECURE: lambda i: (
            None if verification.caller_verified(i) else verify_caller(i, actor),
            services.record_securing(
                fresh(i),
                password_advice="done",
                customer_two_factor="enabled_now",
                actor=actor,
                expected_version=fresh(i).version,
            ),
        ),
        Stage.INVESTIGATE: lambda i: services.record_findings(
            i, findings="Logins from an unknown network", actor=actor, expected_version=i.version
        ),
        Stage.ESCALATE: lambda i: services.decide_no_escalation(
            i, reason="Contained at tier 1", actor=actor, expected_version=i.version
        ),
        Stage.COMMUNICATE: lambda i: services.send_progress_update(i, message="We removed the payee.", actor=actor),
    }
    while incident.stage != stage:
        steps[incident.stage](incident)
        incident = services.advance(fresh(incident), actor=actor, expected_version=fresh(incident).version)
    return incident


@pytest.fixture
def reply_snippets(db):
    """The reply snippets migration incidents.0010 ships (a transactional test's flush empties the
    table, so a test that reads them makes sure they are there)."""
    import importlib

    from incidents.models import ReplySnippet

    shipped = importlib.import_module("incidents.migrations.0010_reply_snippets_and_customer_time_zone").SNIPPETS
    for language, purpose, title, body in shipped:
        ReplySnippet.objects.get_or_create(language=language, purpose=purpose, title=title, defaults={"body": body})
