import pytest

from incidents import services, verification
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
    import re

    update = CustomerUpdate.objects.filter(incident=incident, template="verification_code").latest("pk")
    from django.core import mail

    for message in reversed(mail.outbox):
        if message.extra_headers.get("X-Bulwark-Update") == update.idempotency_key:
            return re.search(r"\b(\d{6})\b", message.body).group(1)
    raise AssertionError("no verification email was sent")


def verify_caller(incident, actor):
    verification.send_code(incident, identified_by="account_reference", actor=actor)
    result = verification.check_code(incident, code=sent_code(incident), actor=actor)
    assert result.verified, result.message


@pytest.fixture(autouse=True)
def _after_commit_runs_at_once(request, monkeypatch):
    """Tests in a wrapping transaction never commit, so on_commit work (sending emails) would never
    run: run it right away instead. Tests marked django_db(transaction=True) keep the real behaviour."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        return
    from notifications import outbox

    monkeypatch.setattr(outbox.transaction, "on_commit", lambda func, using=None, robust=False: func())
