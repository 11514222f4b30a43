from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.utils import timezone

from audit.models import AuditEntry
from incidents import verification
from incidents.models import CallerVerification
from notifications.models import CustomerUpdate
from tests.desk import sent_code

pytestmark = pytest.mark.django_db


def test_code_is_emailed_to_the_address_of_record_and_stored_hashed(incident, tier1):
    record = verification.send_code(incident, identified_by="email", actor=tier1)
    code = sent_code(incident)
    assert mail.outbox[-1].to == ["kari@example.org"]
    assert code not in record.code_hash and check_password(code, record.code_hash)
    assert record.expires_at - record.created_at == timedelta(minutes=10)
    stored = CustomerUpdate.objects.get(incident=incident, template="verification_code")
    assert code not in stored.body_text and code not in stored.body_html, "the sent code is masked in storage"
    assert code not in str(list(AuditEntry.objects.values_list("data", flat=True)))


def test_right_code_verifies_and_the_incident_says_how(incident, tier1):
    verification.send_code(incident, identified_by="account_reference", actor=tier1)
    result = verification.check_code(incident, code=sent_code(incident), actor=tier1)
    assert result.verified
    assert verification.caller_verified(incident)
    assert CallerVerification.objects.get(incident=incident).identified_by == "account_reference"


def test_five_wrong_attempts_fail_the_code(incident, tier1):
    verification.send_code(incident, identified_by="email", actor=tier1)
    code = sent_code(incident)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    messages = [verification.check_code(incident, code=wrong, actor=tier1).message for _ in range(5)]
    assert messages[0] == "Wrong code. 4 attempts left."
    assert "last attempt" in messages[-1]
    assert not verification.check_code(incident, code=code, actor=tier1).verified  # the right code is too late
    assert CallerVerification.objects.get(incident=incident).status == "failed"
    assert AuditEntry.objects.filter(action="caller.verification_failed", incident_id=incident.pk).count() == 5


def test_code_expires_after_ten_minutes(incident, tier1):
    verification.send_code(incident, identified_by="email", actor=tier1)
    code = sent_code(incident)
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        result = verification.check_code(incident, code=code, actor=tier1)
    assert not result.verified and "expired" in result.message


def test_a_new_code_voids_the_old_one(incident, tier1):
    verification.send_code(incident, identified_by="email", actor=tier1)
    old = sent_code(incident)
    verification.send_code(incident, identified_by="email", actor=tier1)
    new = sent_code(incident)
    statuses = list(
        CallerVerification.objects.filter(incident=incident).order_by("pk").values_list("status", flat=True)
    )
    assert statuses == ["replaced", "pending"]
    if old != new:
        assert not verification.check_code(incident, code=old, actor=tier1).verified
    assert verification.check_code(incident, code=new, actor=tier1).verified


def test_override_needs_a_supervisor_and_a_reason(incident, tier1, supervisor_agent):
    from django.core.exceptions import PermissionDenied

    from incidents.playbook import PlaybookError

    with pytest.raises(PermissionDenied):
        verification.override(incident, reason="trust me", actor=tier1)
    with pytest.raises(PlaybookError, match="Write why"):
        verification.override(incident, reason="  ", actor=supervisor_agent)
    verification.override(incident, reason="Customer in branch with passport", actor=supervisor_agent)
    assert verification.caller_verified(incident)
    assert AuditEntry.objects.filter(action="caller.override", actor=supervisor_agent).exists()
