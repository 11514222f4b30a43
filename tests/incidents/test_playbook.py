"""The state machine: every allowed and forbidden move, and what each gate says is missing."""

import pytest

from incidents import playbook, services, verification
from incidents.models import Stage, Status
from incidents.playbook import MOVES, PlaybookError
from tests.desk import fresh, walk_to

pytestmark = pytest.mark.django_db


def test_moves_table_allows_only_the_playbook_order():
    assert MOVES[Stage.CONFIRM] == {Stage.SECURE, Stage.CLOSED}
    for stage, following in zip(playbook.ORDER[1:-2], playbook.ORDER[2:-1], strict=True):
        assert MOVES[stage] == {following}
    assert MOVES[Stage.POST_INCIDENT] == {Stage.CLOSED}
    assert MOVES[Stage.CLOSED] == {Stage.CONFIRM}


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        (Stage.CONFIRM, "record at least one change the customer did not authorize"),
        (Stage.SECURE, "record whether the customer changed their password"),
        (Stage.INVESTIGATE, "write the findings of the investigation"),
        (Stage.ESCALATE, "escalate to tier 2 or the security team, or record why no escalation is needed"),
        (Stage.COMMUNICATE, "send the customer at least one progress update"),
    ],
)
def test_each_gate_refuses_with_what_is_missing(incident, tier1, stage, message):
    incident = walk_to(incident, stage, tier1)
    with pytest.raises(PlaybookError, match=message):
        services.advance(incident, actor=tier1, expected_version=incident.version)
    assert fresh(incident).stage == stage


def test_step_two_gate_names_both_missing_items(incident, tier1):
    incident = walk_to(incident, Stage.SECURE, tier1)
    with pytest.raises(PlaybookError) as refused:
        services.advance(incident, actor=tier1, expected_version=incident.version)
    assert "password" in str(refused.value) and "two-factor" in str(refused.value)


def test_investigate_gate_waits_for_a_verdict_on_every_ip(incident, tier1):
    incident = walk_to(incident, Stage.INVESTIGATE, tier1)
    services.add_indicators_from_log(incident, log_text="login from 185.220.101.7 and 8.8.8.8", actor=tier1)
    incident = services.record_findings(
        fresh(incident), findings="Two IPs", actor=tier1, expected_version=fresh(incident).version
    )
    with pytest.raises(PlaybookError, match=r"give every IP address a verdict \(still open: 185.220.101.7, 8.8.8.8\)"):
        services.advance(incident, actor=tier1, expected_version=incident.version)
    for indicator in incident.indicators.all():
        services.set_indicator_verdict(indicator, verdict="unauthorized", actor=tier1)
    assert (
        services.advance(fresh(incident), actor=tier1, expected_version=fresh(incident).version).stage == Stage.ESCALATE
    )


def test_whole_playbook_to_resolution(incident, tier1):
    incident = walk_to(incident, Stage.POST_INCIDENT, tier1)
    with pytest.raises(PlaybookError, match="write the resolution summary"):
        services.resolve_incident(
            incident,
            resolution_summary="",
            measures_taken="x",
            advice_given="y",
            actor=tier1,
            expected_version=incident.version,
        )
    incident = services.resolve_incident(
        fresh(incident),
        resolution_summary="Payee removed, money returned",
        measures_taken="Password reset, 2FA on",
        advice_given="Never share codes",
        actor=tier1,
        expected_version=fresh(incident).version,
    )
    assert (incident.stage, incident.status) == (Stage.CLOSED, Status.RESOLVED)
    assert incident.customer_updates.filter(template="resolution").exists()


def test_advance_cannot_skip_resolution_form(incident, tier1):
    incident = walk_to(incident, Stage.POST_INCIDENT, tier1)
    with pytest.raises(PlaybookError, match="resolution form"):
        services.advance(incident, actor=tier1, expected_version=incident.version)


def test_not_confirmed_closes_with_reason_and_only_without_changes(incident, tier1):
    with pytest.raises(PlaybookError, match="Say why"):
        services.close_not_confirmed(incident, reason=" ", actor=tier1, expected_version=incident.version)
    closed = services.close_not_confirmed(
        incident, reason="Customer's spouse made the change", actor=tier1, expected_version=incident.version
    )
    assert (closed.stage, closed.status) == (Stage.CLOSED, Status.NOT_CONFIRMED)
    assert playbook.step_states(closed)[1]["state"] == "skipped"


def test_confirmed_incident_cannot_close_as_false_alarm(incident, tier1):
    incident = walk_to(incident, Stage.CONFIRM, tier1)
    services.record_unauthorized_change(
        incident,
        kind="contact",
        description="Phone changed",
        noticed_at=None,
        actor=tier1,
        expected_version=incident.version,
    )
    with pytest.raises(PlaybookError, match="confirmed and cannot close"):
        services.close_not_confirmed(fresh(incident), reason="x", actor=tier1, expected_version=fresh(incident).version)


def test_only_a_supervisor_reopens(incident, tier1, supervisor_agent):
    services.close_not_confirmed(incident, reason="False alarm", actor=tier1, expected_version=incident.version)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.reopen_incident(incident, reason="New facts", actor=tier1)
    reopened = services.reopen_incident(incident, reason="New facts", actor=supervisor_agent)
    assert (reopened.stage, reopened.status, reopened.closed_at) == (Stage.CONFIRM, Status.OPEN, None)


def test_closed_incident_refuses_step_actions(incident, tier1):
    services.close_not_confirmed(incident, reason="False alarm", actor=tier1, expected_version=incident.version)
    with pytest.raises(PlaybookError, match="is closed"):
        services.record_unauthorized_change(
            fresh(incident),
            kind="other",
            description="x",
            noticed_at=None,
            actor=tier1,
            expected_version=fresh(incident).version,
        )


def test_escalation_is_possible_from_any_stage(incident, tier1):
    escalation = services.escalate(incident, to_team="security", reason="Many payees changed", severity=4, actor=tier1)
    incident = fresh(incident)
    assert incident.stage == Stage.CONFIRM
    assert (incident.team, incident.severity) == ("security", 4)
    assert escalation.from_team == "tier1"
    with pytest.raises(PlaybookError, match="already has an active escalation"):
        services.escalate(incident, to_team="tier2", reason="again", severity=1, actor=tier1)


def test_securing_requires_a_verified_caller_or_override(incident, tier1, supervisor_agent):
    incident = services.record_unauthorized_change(
        incident, kind="transaction", description="x", noticed_at=None, actor=tier1, expected_version=incident.version
    ).incident
    incident = services.advance(fresh(incident), actor=tier1, expected_version=fresh(incident).version)
    with pytest.raises(PlaybookError, match="Verify the caller first"):
        services.record_securing(
            incident,
            password_advice="done",
            customer_two_factor="declined",
            actor=tier1,
            expected_version=incident.version,
        )

    verification.override(
        incident, reason="Caller known to branch manager, email of record lost", actor=supervisor_agent
    )
    services.record_securing(
        fresh(incident),
        password_advice="done",
        customer_two_factor="declined",
        actor=tier1,
        expected_version=fresh(incident).version,
    )


def test_stale_version_is_refused_and_names_who_changed_it(incident, tier1, security_agent):
    stale_version = incident.version
    services.record_unauthorized_change(
        incident,
        kind="other",
        description="first",
        noticed_at=None,
        actor=security_agent,
        expected_version=stale_version,
    )
    with pytest.raises(services.StaleIncident, match="changed meanwhile by Sasha Security"):
        services.record_unauthorized_change(
            incident, kind="other", description="second", noticed_at=None, actor=tier1, expected_version=stale_version
        )
    assert list(fresh(incident).changes.values_list("description", flat=True)) == ["first"]
