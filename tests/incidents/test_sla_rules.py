"""The SLA due-time rules on their own: the policy of each severity (the table, a row, a row deleted), the due
and warn times of each clock, when the first-update clock stops, and how each clock reads, boundaries included."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents import sla
from incidents.models import Escalation, Incident, Severity, SlaPolicy, Status
from incidents.sla import ClockState, clock_state, compact

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_the_default_policies_are_the_shipped_table():
    assert sla.DEFAULT_POLICIES == {
        Severity.CRITICAL: {"first_update_minutes": 15, "claim_minutes": 15, "resolve_minutes": 1440},
        Severity.HIGH: {"first_update_minutes": 30, "claim_minutes": 30, "resolve_minutes": 4320},
        Severity.MEDIUM: {"first_update_minutes": 120, "claim_minutes": 240, "resolve_minutes": 7200},
        Severity.LOW: {"first_update_minutes": 480, "claim_minutes": 1440, "resolve_minutes": 14400},
    }
    assert sla.DEFAULT_WARN_PERCENT == 75
    assert {"securing_advice", "escalated", "progress", "message", "resolution"} == sla.FIRST_UPDATE_TEMPLATES


def fields(policy: SlaPolicy) -> tuple:
    return (
        policy.severity,
        policy.first_update_minutes,
        policy.claim_minutes,
        policy.resolve_minutes,
        policy.warn_percent,
    )


def test_a_deleted_row_falls_back_to_the_default_and_a_given_table_saves_the_query(django_assert_num_queries):
    SlaPolicy.objects.filter(severity=Severity.MEDIUM).update(first_update_minutes=99, warn_percent=50)
    SlaPolicy.objects.filter(severity=Severity.LOW).delete()
    assert fields(sla.policy_for(Severity.MEDIUM)) == (2, 99, 240, 7200, 50)
    assert fields(sla.policy_for(Severity.LOW)) == (1, 480, 1440, 14400, 75)
    policies = sla.all_policies()
    assert sorted(policies) == [1, 2, 3, 4]
    assert [fields(policies[severity]) for severity in (1, 4)] == [(1, 480, 1440, 14400, 75), (4, 15, 15, 1440, 75)]
    with django_assert_num_queries(0):
        assert sla.policy_for(Severity.MEDIUM, policies) is policies[Severity.MEDIUM]
    with django_assert_num_queries(1):
        assert fields(sla.policy_for(Severity.HIGH, {})) == (3, 30, 30, 4320, 75)


def incident(severity=Severity.HIGH, **kwargs) -> Incident:
    return Incident(severity=severity, created_at=T0, **kwargs)


def test_due_and_warn_times_run_from_the_opening_and_the_resolve_clock_from_its_start():
    SlaPolicy.objects.filter(severity=Severity.HIGH).update(warn_percent=50)
    opened = incident()
    changed = sla.apply_due_times(opened)
    assert changed == ["first_update_due_at", "first_update_warn_at", "resolve_due_at", "resolve_warn_at", "clock_started_at"]  # fmt: skip
    assert opened.clock_started_at == T0
    assert (opened.first_update_due_at, opened.first_update_warn_at) == (T0 + 30 * MINUTE, T0 + 15 * MINUTE)
    assert (opened.resolve_due_at, opened.resolve_warn_at) == (T0 + timedelta(days=3), T0 + timedelta(days=1.5))
    reopened_at = T0 + timedelta(days=5)
    sla.apply_due_times(opened, restart_at=reopened_at)
    assert opened.clock_started_at == reopened_at
    assert (opened.first_update_due_at, opened.resolve_due_at) == (T0 + 30 * MINUTE, reopened_at + timedelta(days=3))
    opened.severity = Severity.CRITICAL  # a raised severity: the same starts, the new allowance
    sla.apply_due_times(opened)
    assert (opened.first_update_due_at, opened.first_update_warn_at) == (T0 + 15 * MINUTE, T0 + 11.25 * MINUTE)
    assert (opened.clock_started_at, opened.resolve_due_at) == (reopened_at, reopened_at + timedelta(days=1))


def test_an_escalation_claim_clock_runs_from_its_request_with_its_own_severity():
    opened = incident(severity=Severity.LOW)
    escalation = Escalation(severity=Severity.CRITICAL, requested_at=T0 + timedelta(hours=1))
    sla.apply_due_times(opened, escalation)
    assert (escalation.claim_due_at, escalation.claim_warn_at) == (
        T0 + timedelta(hours=1) + 15 * MINUTE,
        T0 + timedelta(hours=1) + 11.25 * MINUTE,
    )
    same = Escalation(severity=Severity.LOW, requested_at=T0)
    sla.apply_due_times(opened, same)
    assert (same.claim_due_at, same.claim_warn_at) == (T0 + timedelta(hours=24), T0 + timedelta(hours=18))
    policies = sla.all_policies()
    apart = Escalation(severity=Severity.MEDIUM, requested_at=T0)
    sla.apply_claim_due_times(apart, policies)
    assert (apart.claim_due_at, apart.claim_warn_at) == (T0 + timedelta(hours=4), T0 + timedelta(hours=3))


def test_only_the_first_real_update_stops_the_first_update_clock(customer, tier1):
    from incidents import services

    opened = services.open_incident(customer=customer, channel="phone", summary="x", severity=2, actor=tier1)
    opened.first_update_at = None
    Incident.objects.filter(pk=opened.pk).update(first_update_at=None)
    for template in ("acknowledgement", "verification_code", "email_changed"):
        sla.record_first_update(opened, template, T0)
        assert opened.first_update_at is None
    sla.record_first_update(opened, "progress", T0)
    sla.record_first_update(opened, "resolution", T0 + MINUTE)
    assert opened.first_update_at == T0
    assert Incident.objects.get(pk=opened.pk).first_update_at == T0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min"),
        (59, "0 min"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h 00 min"),
        (3600 + 5 * 60, "1 h 05 min"),
        (86399, "23 h 59 min"),
        (86400, "1 d 0 h"),
        (2 * 86400 + 3 * 3600 + 59, "2 d 3 h"),
        (-90 * 60, "1 h 30 min"),
    ],
)
def test_compact_durations(seconds, text):
    assert compact(timedelta(seconds=seconds)) == text


def test_every_state_of_a_clock_with_its_boundaries():
    due, warn = T0 + 60 * MINUTE, T0 + 45 * MINUTE
    assert clock_state(None, None, None, now=T0) == ClockState("none", "—", None)
    assert clock_state(due, warn, None, now=T0) == ClockState("ok", "1 h 00 min left", due)
    assert clock_state(due, warn, None, now=warn - timedelta(seconds=1)) == ClockState("ok", "15 min left", due)
    assert clock_state(due, warn, None, now=warn) == ClockState("warn", "15 min left", due)
    assert clock_state(due, None, None, now=warn) == ClockState("ok", "15 min left", due)
    assert clock_state(due, warn, None, now=due) == ClockState("late", "0 min overdue", due)
    assert clock_state(due, warn, None, now=due + 61 * MINUTE) == ClockState("late", "1 h 01 min overdue", due)
    assert clock_state(due, warn, due, now=due + timedelta(days=9)) == ClockState("met", "met", due)
    assert clock_state(due, warn, due + 2 * MINUTE, now=T0) == ClockState("met_late", "met 2 min late", due)
    assert clock_state(due, warn, None, now=T0).css == "clock clock-ok"


def test_the_clock_of_a_row_and_the_clocks_of_the_page():
    now = T0 + 10 * MINUTE
    row = incident(
        status=Status.OPEN,
        first_update_due_at=T0 + 30 * MINUTE,
        first_update_warn_at=T0 + 20 * MINUTE,
        resolve_due_at=T0 + timedelta(days=1),
        resolve_warn_at=T0 + timedelta(hours=18),
    )
    assert sla.incident_clock(row, now) == ("First update", ClockState("ok", "20 min left", T0 + 30 * MINUTE))
    assert [label for label, _ in sla.incident_clocks(row, None, now)] == ["First customer update", "Resolve"]
    row.first_update_at = T0 + 5 * MINUTE
    assert sla.incident_clock(row, now) == ("Resolve", ClockState("ok", "23 h 50 min left", T0 + timedelta(days=1)))
    assert sla.incident_clocks(row, None, now)[0] == (
        "First customer update",
        ClockState("met", "met", T0 + 30 * MINUTE),
    )
    escalation = Escalation(
        to_team="security", claim_due_at=T0 + 15 * MINUTE, claim_warn_at=T0 + 11 * MINUTE, claimed_at=None
    )
    assert sla.incident_clocks(row, escalation, now)[2] == (
        "Claim by Security team",
        ClockState("ok", "5 min left", T0 + 15 * MINUTE),
    )
    row.first_update_at = None
    row.status, row.closed_at = Status.NOT_CONFIRMED, T0 + 40 * MINUTE  # closed without an update
    assert sla.incident_clock(row, now) == ("Resolve", ClockState("met", "met", T0 + timedelta(days=1)))
    assert sla.incident_clocks(row, None, now) == [("Resolve", ClockState("met", "met", T0 + timedelta(days=1)))]
    unclocked = incident(status=Status.OPEN)
    assert sla.incident_clock(unclocked, now) == ("Resolve", ClockState("none", "—", None))
    assert sla.incident_clocks(unclocked, None, now) == []


def test_the_first_update_is_written_once_and_only_to_its_incident(customer, tier1):
    from incidents import services

    first = services.open_incident(customer=customer, channel="phone", summary="x", severity=2, actor=tier1)
    second = services.open_incident(customer=customer, channel="phone", summary="y", severity=2, actor=tier1)
    Incident.objects.update(first_update_at=None)
    Incident.objects.filter(pk=second.pk).update(first_update_at=T0)
    first.first_update_at = second.first_update_at = None  # as loaded before the update
    sla.record_first_update(first, "progress", T0 + MINUTE)
    sla.record_first_update(second, "progress", T0 + 2 * MINUTE)
    assert dict(Incident.objects.values_list("pk", "first_update_at")) == {first.pk: T0 + MINUTE, second.pk: T0}


def test_every_clock_of_the_page_turns_amber_and_red_at_its_own_times():
    row = incident(
        status=Status.OPEN,
        first_update_due_at=T0 + 30 * MINUTE,
        first_update_warn_at=T0 + 20 * MINUTE,
        resolve_due_at=T0 + 60 * MINUTE,
        resolve_warn_at=T0 + 25 * MINUTE,
    )
    escalation = Escalation(
        to_team="tier2", claim_due_at=T0 + 40 * MINUTE, claim_warn_at=T0 + 21 * MINUTE, claimed_at=None
    )
    now = T0 + 26 * MINUTE
    assert sla.incident_clocks(row, escalation, now) == [
        ("First customer update", ClockState("warn", "4 min left", T0 + 30 * MINUTE)),
        ("Resolve", ClockState("warn", "34 min left", T0 + 60 * MINUTE)),
        ("Claim by Tier 2", ClockState("warn", "14 min left", T0 + 40 * MINUTE)),
    ]
    assert sla.incident_clock(row, now) == ("First update", ClockState("warn", "4 min left", T0 + 30 * MINUTE))
    row.first_update_at = T0 + 5 * MINUTE
    assert sla.incident_clock(row, now) == ("Resolve", ClockState("warn", "34 min left", T0 + 60 * MINUTE))
    escalation.claimed_at = T0 + 41 * MINUTE
    assert sla.incident_clocks(row, escalation, now)[2] == (
        "Claim by Tier 2",
        ClockState("met_late", "met 1 min late", T0 + 40 * MINUTE),
    )
