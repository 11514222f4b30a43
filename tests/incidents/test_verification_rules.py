"""Caller verification read whole: what each refusal and each attempt tells the agent, word for word; the
audit entries with their target, incident, customer and details; the override reasons stored redacted."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from audit.models import AuditEntry
from incidents import customers, verification
from incidents.models import CallerVerification
from incidents.playbook import PlaybookError
from tests.desk import sent_code
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CARD = "4111 1111 1111 1111"


def entries(incident, action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(incident_id=incident.pk, action=action).order_by("seq"))


def target_of(entry) -> tuple[str, str, int | None, int | None]:
    return entry.target_type, entry.target_id, entry.incident_id, entry.customer_id


def refusal(call, error=PlaybookError) -> str:
    with pytest.raises(error) as refused:
        call()
    return str(refused.value)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize("how", ["", "supervisor", "name", "EMAIL"])
def test_only_the_two_ways_of_identifying_the_account_are_accepted(incident, tier1, how):
    message = refusal(lambda: verification.send_code(incident, identified_by=how, actor=tier1))
    assert message == "Say how the caller identified the account."
    assert not CallerVerification.objects.filter(incident=incident).exists() and not mail.outbox[1:]


@pytest.mark.parametrize("how", ["email", "account_reference"])
def test_the_code_is_sent_and_its_audit_entry_says_to_what_and_how(incident, tier1, how):
    sent = verification.send_code(incident, identified_by=how, actor=tier1)
    assert (sent.identified_by, sent.sent_to, sent.requested_by, sent.status) == (
        how,
        "kari@example.org",
        tier1,
        "pending",
    )
    assert sent.expires_at == sent.created_at + timedelta(minutes=10)
    [entry] = entries(incident, "caller.code_sent")
    expected_target = ("incidents.callerverification", str(sent.pk), incident.pk, incident.customer_id)
    assert (target_of(entry), entry.actor, entry.data) == (expected_target, tier1, {"identified_by": how})
    assert sent_code(incident) in mail.outbox[-1].body


def test_no_new_code_once_the_caller_is_verified(incident, tier1):
    verification.send_code(incident, identified_by="email", actor=tier1)
    assert verification.check_code(incident, code=sent_code(incident), actor=tier1).verified
    emails = len(mail.outbox)
    message = refusal(lambda: verification.send_code(incident, identified_by="email", actor=tier1))
    assert message == "The caller is already verified for this incident."
    assert CallerVerification.objects.filter(incident=incident).count() == 1 and len(mail.outbox) == emails


def test_every_attempt_is_told_and_recorded_whole(incident, tier1):
    assert verification.check_code(incident, code="123456", actor=tier1) == verification.CheckResult(
        False, "No code is waiting: send a new code to the customer."
    )
    sent = verification.send_code(incident, identified_by="email", actor=tier1)
    code = sent_code(incident)
    results = [verification.check_code(incident, code=wrong(code), actor=tier1) for _ in range(5)]
    assert [(r.verified, r.message) for r in results] == [
        (False, "Wrong code. 4 attempts left."),
        (False, "Wrong code. 3 attempts left."),
        (False, "Wrong code. 2 attempts left."),
        (False, "Wrong code. 1 attempt left."),
        (
            False,
            "Wrong code, and that was the last attempt. The caller is not verified; send a new code only if you "
            "trust the request.",
        ),
    ]
    failed = entries(incident, "caller.verification_failed")
    expected_target = ("incidents.callerverification", str(sent.pk), incident.pk, incident.customer_id)
    assert [(target_of(e), e.actor, e.data) for e in failed] == [
        (expected_target, tier1, {"reason": "wrong_code", "attempts": n}) for n in range(1, 6)
    ]
    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.verified_at) == ("failed", 5, None)
    assert verification.check_code(incident, code=code, actor=tier1).message == (
        "No code is waiting: send a new code to the customer."
    )


def test_the_right_code_read_back_with_spaces_verifies_on_the_last_attempt(incident, tier1):
    sent = verification.send_code(incident, identified_by="account_reference", actor=tier1)
    code = sent_code(incident)
    for attempt in (wrong(code), code[:5], code + "0", "abcdef"):
        assert not verification.check_code(incident, code=attempt, actor=tier1).verified
    result = verification.check_code(incident, code=f" {code[:3]} {code[3:]}\n", actor=tier1)
    assert result == verification.CheckResult(True, "Caller verified with the one-time code.")
    sent.refresh_from_db()
    assert (sent.status, sent.attempts) == ("verified", 5) and sent.verified_at is not None
    [entry] = entries(incident, "caller.verified")
    expected_target = ("incidents.callerverification", str(sent.pk), incident.pk, incident.customer_id)
    assert (target_of(entry), entry.actor, entry.data) == (
        expected_target,
        tier1,
        {"method": "email_code", "attempts": 5},
    )
    assert verification.caller_verified(incident) and verification.current_verification(incident) == sent


def test_the_code_lasts_ten_minutes_to_the_second(incident, tier1):
    sent = verification.send_code(incident, identified_by="email", actor=tier1)
    code = sent_code(incident)
    with time_machine.travel(sent.expires_at - timedelta(seconds=1), tick=False):
        assert not verification.check_code(incident, code=wrong(code), actor=tier1).verified
    with time_machine.travel(sent.expires_at, tick=False):
        result = verification.check_code(incident, code=code, actor=tier1)
    assert result == verification.CheckResult(False, "The code expired (codes last 10 minutes). Send a new one.")
    sent.refresh_from_db()
    assert (sent.status, sent.attempts) == ("expired", 1)
    expired = entries(incident, "caller.verification_failed")[-1]
    expected_target = ("incidents.callerverification", str(sent.pk), incident.pk, incident.customer_id)
    assert (target_of(expired), expired.data) == (expected_target, {"reason": "expired"})


def test_securing_waits_for_a_verified_caller_with_a_whole_message(incident, tier1):
    message = refusal(lambda: verification.ensure_caller_verified(incident))
    assert message == (
        "Verify the caller first (one-time code to the customer's address of record), or ask a supervisor to override."
    )


def test_an_override_is_recorded_whole_and_its_reason_redacted(incident, tier1, supervisor_agent):
    verification.send_code(incident, identified_by="email", actor=tier1)
    message = refusal(lambda: verification.override(incident, reason=" \n", actor=supervisor_agent))
    assert message == "Write why the caller is trusted without the code."
    done = verification.override(incident, reason=f"Known in branch, paid with {CARD}", actor=supervisor_agent)
    assert (done.status, done.identified_by, done.requested_by) == ("overridden", "supervisor", supervisor_agent)
    assert done.verified_at is not None
    assert CallerVerification.objects.get(pk=done.pk).override_reason == (
        "Known in branch, paid with [card number removed, ending 1111]"
    )
    assert list(
        CallerVerification.objects.filter(incident=incident).order_by("pk").values_list("status", flat=True)
    ) == [
        "replaced",
        "overridden",
    ]
    [entry] = entries(incident, "caller.override")
    expected_target = ("incidents.callerverification", str(done.pk), incident.pk, incident.customer_id)
    assert (target_of(entry), entry.actor, entry.data) == (expected_target, supervisor_agent, {})


@pytest.fixture
def moved(customer, supervisor_agent):
    return customers.change_customer(
        customer, actor=supervisor_agent, email="mallory@evil.example", reason="Caller asked for it"
    )


def test_the_hold_override_reason_is_redacted_before_it_is_cut(moved, tier1, supervisor_agent):
    from incidents import services

    incident = services.open_incident(customer=moved, channel="phone", summary="x", severity=2, actor=tier1)
    reason = "r" * 490 + " " + CARD + " was read out"  # the card straddles the 500th character
    sent = verification.send_code(incident, identified_by="email", actor=supervisor_agent, override_reason=reason)
    [entry] = entries(incident, "caller.address_hold_overridden")
    expected_target = ("incidents.callerverification", str(sent.pk), incident.pk, incident.customer_id)
    assert (target_of(entry), entry.actor) == (expected_target, supervisor_agent)
    assert entry.data["reason"] == ("r" * 490 + " [card number removed, ending 1111] was read out")[:500]
    assert set(entry.data) == {"hold", "reason"}


def test_where_the_code_may_go_is_said_whole(moved, customer, tier1, supervisor_agent):
    from incidents import services

    def opened(who):
        return services.open_incident(customer=who, channel="phone", summary="x", severity=2, actor=tier1)

    held = opened(moved)
    hold = (
        f"The address of record m***@evil.example was set on {timezone.localdate():%Y-%m-%d} (less than 30 days "
        "ago): a code sent there could reach whoever changed it."
    )
    assert refusal(
        lambda: verification.send_code(held, identified_by="email", actor=tier1), verification.AddressOnHold
    ) == (
        hold
        + " Send the code to the previous address of record instead, or ask a supervisor to override with a reason."
    )
    sent = verification.send_code(held, identified_by="email", actor=tier1, to_previous=True)
    assert sent.sent_to == "kari@example.org"
    assert entries(held, "caller.code_sent")[0].data == {"identified_by": "email", "to_previous_address": True}

    other = opened(CustomerFactory(email="noor@example.org"))
    assert refusal(lambda: verification.send_code(other, identified_by="email", actor=tier1, to_previous=True)) == (
        "The address of record is not on hold: send the code there."
    )
    services.record_unauthorized_change(
        other, kind="contact", description="Email changed to noor@example.org", noticed_at=None, actor=tier1,
        expected_version=other.version,
    )  # fmt: skip
    named = (
        f"Step 1 of the open incident {other.reference} records the address n***@example.org as an unauthorized "
        "change of contact details."
    )
    assert refusal(
        lambda: verification.send_code(other, identified_by="email", actor=tier1), verification.AddressOnHold
    ) == (named + " A supervisor can send it anyway, with a written reason.")
    assert refusal(lambda: verification.send_code(other, identified_by="email", actor=tier1, to_previous=True)) == (
        "This customer has no previous address of record."
    )
    assert not CallerVerification.objects.filter(incident=other).exists()


def test_the_current_verification_is_the_latest_created_and_the_latest_row_on_a_tie(incident, tier1, supervisor_agent):
    with time_machine.travel(timezone.now(), tick=False):
        sent = verification.send_code(incident, identified_by="email", actor=tier1)
        done = verification.override(incident, reason="Known in branch", actor=supervisor_agent)
    assert sent.created_at == done.created_at and verification.current_verification(incident) == done
    backdated = CallerVerification.objects.create(
        incident=incident,
        identified_by="email",
        created_at=sent.created_at - timedelta(hours=1),
        expires_at=sent.created_at,
        requested_by=tier1,
        status="expired",
    )
    assert backdated.pk > done.pk and verification.current_verification(incident) == done


def test_a_code_checked_on_one_incident_never_touches_another_incidents_code(incident, customer, tier1):
    from incidents import services

    other = services.open_incident(customer=customer, channel="phone", summary="y", severity=2, actor=tier1)
    verification.send_code(other, identified_by="email", actor=tier1)
    code = sent_code(other)
    assert verification.check_code(incident, code=code, actor=tier1) == verification.CheckResult(
        False, "No code is waiting: send a new code to the customer."
    )
    assert CallerVerification.objects.get(incident=other).attempts == 0
    assert verification.check_code(other, code=code, actor=tier1).verified


def test_only_a_supervisor_overrides_and_is_told_so(incident, tier1):
    from django.core.exceptions import PermissionDenied

    message = refusal(lambda: verification.override(incident, reason="trust me", actor=tier1), PermissionDenied)
    assert message == "Only a supervisor can override caller verification."
    assert not CallerVerification.objects.filter(incident=incident).exists()


def test_the_expired_attempt_is_recorded_with_its_agent(incident, tier1):
    sent = verification.send_code(incident, identified_by="email", actor=tier1)
    with time_machine.travel(sent.expires_at + timedelta(seconds=1), tick=False):
        verification.check_code(incident, code=sent_code(incident), actor=tier1)
    [expired] = entries(incident, "caller.verification_failed")
    assert (expired.actor, expired.data) == (tier1, {"reason": "expired"})


def test_the_panel_of_an_address_held_by_step_1_with_no_previous_address(incident, tier1):
    from incidents import services

    services.record_unauthorized_change(
        incident, kind="contact", description="Email set to kari@example.org by someone", noticed_at=None,
        actor=tier1, expected_version=incident.version,
    )  # fmt: skip
    assert verification.address_panel(incident) == verification.AddressPanel(
        hold=(
            f"Step 1 of the open incident {incident.reference} records the address k***@example.org as an "
            "unauthorized change of contact details."
        ),
        previous=None,
        previous_hold=None,
    )


def test_the_email_says_how_long_the_code_lasts_and_who_asked(incident, tier1):
    from notifications.models import CustomerUpdate

    codes = []
    for _ in range(3):
        verification.send_code(incident, identified_by="email", actor=tier1)
        codes.append(sent_code(incident))
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert any(int(code) >= 60 for code in codes)  # drawn from a million, not from sixty (odds 1 in 10^12)
    body = mail.outbox[-1].body
    assert f"Engangskoden din er:\n\n{codes[-1]}\n" in body  # Kari reads Norwegian
    assert "Koden er gyldig i 10 minutter og kan bare brukes én gang." in body
    update = CustomerUpdate.objects.filter(incident=incident, template="verification_code").latest("pk")
    assert update.created_by == tier1


def test_an_agent_cannot_send_to_an_address_on_hold_and_is_told_so(moved, tier1):
    from django.core.exceptions import PermissionDenied

    from incidents import services

    incident = services.open_incident(customer=moved, channel="phone", summary="x", severity=2, actor=tier1)
    message = refusal(
        lambda: verification.send_code(incident, identified_by="email", actor=tier1, override_reason="I trust them"),
        PermissionDenied,
    )
    assert message == "Only a supervisor can send a code to an address on hold."
