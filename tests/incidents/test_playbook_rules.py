"""The playbook's rules read whole: each gate's list of what is missing and the messages agents read, word
for word; the moves outside the table; the next stage of each stage; the stepper of every kind of incident."""

import pytest

from incidents import playbook, services
from incidents.models import Stage, Status
from incidents.playbook import PlaybookError, ensure_can_move, missing_for_next, next_stage, step_states
from tests.desk import fresh, walk_to

pytestmark = pytest.mark.django_db

TITLES = ["Confirm", "Secure", "Investigate", "Escalate?", "Communicate", "Resolve"]


def refusal(incident, to_stage, **options) -> str:
    with pytest.raises(PlaybookError) as refused:
        ensure_can_move(incident, to_stage, **options)
    return str(refused.value)


def test_next_stage_of_every_stage_ends_after_closing():
    assert [next_stage(stage) for stage in playbook.ORDER] == [
        Stage.SECURE,
        Stage.INVESTIGATE,
        Stage.ESCALATE,
        Stage.COMMUNICATE,
        Stage.POST_INCIDENT,
        Stage.CLOSED,
        None,
    ]


def test_each_gate_says_everything_missing_word_for_word(incident, tier1):
    assert missing_for_next(incident) == [
        "record at least one change the customer did not authorize (or close it as not confirmed)"
    ]
    incident = walk_to(incident, Stage.SECURE, tier1)
    incident.password_advice, incident.customer_two_factor = "", ""
    assert missing_for_next(incident) == [
        "record whether the customer changed their password",
        "record the customer's two-factor authentication (already on, enabled now or declined)",
    ]
    assert refusal(incident, Stage.INVESTIGATE) == (
        "Before moving on: record whether the customer changed their password; "
        "record the customer's two-factor authentication (already on, enabled now or declined)."
    )
    incident = walk_to(fresh(incident), Stage.INVESTIGATE, tier1)
    assert refusal(incident, Stage.ESCALATE) == "Before moving on: write the findings of the investigation."
    incident = walk_to(incident, Stage.ESCALATE, tier1)
    assert missing_for_next(incident) == [
        "escalate to tier 2 or the security team, or record why no escalation is needed"
    ]
    incident = walk_to(incident, Stage.COMMUNICATE, tier1)
    assert missing_for_next(incident) == ["send the customer at least one progress update"]
    incident = walk_to(incident, Stage.POST_INCIDENT, tier1)
    assert refusal(incident, Stage.CLOSED) == (
        "Before moving on: write the resolution summary; write the measures taken; write the advice given."
    )
    incident.resolution_summary, incident.measures_taken, incident.advice_given = "Done", " ", "Keep codes secret"
    assert missing_for_next(incident) == ["write the measures taken"]


def test_the_verdict_gate_names_the_first_five_open_addresses(incident, tier1):
    incident = walk_to(incident, Stage.INVESTIGATE, tier1)
    addresses = [f"185.220.101.{n}" for n in range(1, 7)]
    services.add_indicators_from_log(incident, log_text="\n".join(addresses), actor=tier1)
    incident.findings = "Six addresses"
    assert missing_for_next(incident) == [
        "give every IP address a verdict (still open: " + ", ".join(addresses[:5]) + ")"
    ]


def test_a_closed_incident_has_no_gate(incident, tier1):
    closed = services.close_not_confirmed(
        incident, reason="False alarm", actor=tier1, expected_version=incident.version
    )
    assert missing_for_next(closed) == []


def test_no_move_outside_the_table_even_once_the_gate_is_met(incident, tier1):
    reference = incident.reference
    assert (
        refusal(incident, Stage.INVESTIGATE) == f"{reference} is at “1 · Confirm”; it cannot move to “3 · Investigate”."
    )
    incident = walk_to(incident, Stage.ESCALATE, tier1)
    services.decide_no_escalation(
        incident, reason="Contained at tier 1", actor=tier1, expected_version=incident.version
    )
    incident = fresh(incident)
    assert missing_for_next(incident) == []  # the gate of step 4 is met: only the table says no
    assert refusal(incident, Stage.CLOSED, closing_not_confirmed=True) == (
        f"{reference} is at “4 · Escalate?”; it cannot move to “Closed”."
    )
    with pytest.raises(PlaybookError) as refused:
        services.close_not_confirmed(incident, reason="x", actor=tier1, expected_version=incident.version)
    assert str(refused.value) == f"{reference} is at “4 · Escalate?”; it cannot move to “Closed”."
    assert (fresh(incident).stage, fresh(incident).status) == (Stage.ESCALATE, Status.OPEN)


def test_closing_from_step_one_needs_the_not_confirmed_route_and_no_changes(incident, tier1):
    assert refusal(incident, Stage.CLOSED) == "From step 1 an incident closes only as “not confirmed”, with a reason."
    ensure_can_move(incident, Stage.CLOSED, closing_not_confirmed=True)  # nothing recorded: a false alarm may close
    incident = services.record_unauthorized_change(
        incident, kind="contact", description="Phone changed", noticed_at=None, actor=tier1, expected_version=1
    ).incident
    assert refusal(fresh(incident), Stage.CLOSED, closing_not_confirmed=True) == (
        "Unauthorized changes are recorded: this incident is confirmed and cannot close as a false alarm."
    )


def test_a_closed_incident_only_reopens_and_says_so(incident, tier1):
    closed = services.close_not_confirmed(
        incident, reason="False alarm", actor=tier1, expected_version=incident.version
    )
    ensure_can_move(closed, Stage.CONFIRM)
    with pytest.raises(PlaybookError) as refused:
        playbook.ensure_open(closed)
    assert str(refused.value) == f"{closed.reference} is closed; a supervisor can reopen it."


def states(incident) -> list[tuple[int, str, str, str]]:
    return [(step["number"], step["stage"], step["title"], step["state"]) for step in step_states(incident)]


def test_stepper_of_an_open_incident(incident, tier1):
    incident = walk_to(incident, Stage.INVESTIGATE, tier1)
    assert states(incident) == [
        (1, Stage.CONFIRM, "Confirm", "done"),
        (2, Stage.SECURE, "Secure", "done"),
        (3, Stage.INVESTIGATE, "Investigate", "current"),
        (4, Stage.ESCALATE, "Escalate?", "todo"),
        (5, Stage.COMMUNICATE, "Communicate", "todo"),
        (6, Stage.POST_INCIDENT, "Resolve", "todo"),
    ]
    assert [step["hint"] for step in step_states(incident)] == [hint for _, _, hint in playbook.STEPS]
    assert step_states(incident)[0]["hint"] == "Establish which changes the customer did not authorize."


def test_stepper_of_a_false_alarm_and_of_a_resolved_incident(incident, tier1):
    closed = services.close_not_confirmed(
        incident, reason="False alarm", actor=tier1, expected_version=incident.version
    )
    assert [state for *_, state in states(closed)] == ["done"] + ["skipped"] * 5
    closed.stage, closed.status = Stage.CLOSED, Status.RESOLVED
    assert [state for *_, state in states(closed)] == ["done"] * 6
    assert [title for _, _, title, _ in states(closed)] == TITLES
