"""The unusual-activity playbook as data: stages, allowed moves, and the gate of each stage.

A gate returns what is still missing before the incident may leave its stage (an empty list
means the way is clear). Services call ensure_can_move(); views never set `stage`.
Nothing here writes: it only reads the incident and its records.
"""

from collections.abc import Callable

from core.errors import ApplicationError
from notifications.models import UpdateStatus

from .models import Incident, Stage, Status, Verdict

STEPS = [
    (Stage.CONFIRM, "Confirm", "Establish which changes the customer did not authorize."),
    (Stage.SECURE, "Secure", "Stop further unauthorized actions: new password, two-factor authentication."),
    (Stage.INVESTIGATE, "Investigate", "Review the activity logs; identify every unauthorized IP address."),
    (Stage.ESCALATE, "Escalate?", "Hand serious cases to tier 2 or the security team, or say why not."),
    (Stage.COMMUNICATE, "Communicate", "Keep the customer informed of progress and of anything they must do."),
    (Stage.POST_INCIDENT, "Resolve", "Tell the customer how it was resolved, what was done, and how to stay safe."),
]
ORDER = [stage for stage, _, _ in STEPS] + [Stage.CLOSED]

# Step 3: addresses that can only be the customer's own network, the device itself or an example
# address. The verdict form offers them as legitimate (the agent can change it before saving);
# every other address starts unjudged.
PRE_JUDGED_LEGITIMATE = frozenset({"private", "loopback", "link_local", "documentation"})

MOVES: dict[str, set[str]] = {
    Stage.CONFIRM: {Stage.SECURE, Stage.CLOSED},  # CLOSED here = "not confirmed" (false alarm)
    Stage.SECURE: {Stage.INVESTIGATE},
    Stage.INVESTIGATE: {Stage.ESCALATE},
    Stage.ESCALATE: {Stage.COMMUNICATE},
    Stage.COMMUNICATE: {Stage.POST_INCIDENT},
    Stage.POST_INCIDENT: {Stage.CLOSED},
    Stage.CLOSED: {Stage.CONFIRM},  # a supervisor reopens
}


class PlaybookError(ApplicationError):
    """A move the playbook does not allow; the message says what is missing."""


class PlaybookConflict(PlaybookError):
    """The incident's state refuses the move (the wrong step, closed, changed meanwhile, taken):
    pages answer 409 Conflict, where an incomplete request answers 400."""


def gate_confirm(incident: Incident) -> list[str]:
    if not incident.changes.exists():
        return ["record at least one change the customer did not authorize (or close it as not confirmed)"]
    return []


def gate_secure(incident: Incident) -> list[str]:
    missing = []
    if not incident.password_advice:
        missing.append("record whether the customer changed their password")
    if not incident.customer_two_factor:
        missing.append("record the customer's two-factor authentication (already on, enabled now or declined)")
    return missing


def gate_investigate(incident: Incident) -> list[str]:
    missing = []
    if not incident.findings.strip():
        missing.append("write the findings of the investigation")
    # Through .all(): the incident page has the indicators prefetched, a move reads them here.
    pending = [indicator.ip for indicator in incident.indicators.all() if indicator.verdict == Verdict.PENDING]
    if pending:
        missing.append("give every IP address a verdict (still open: " + ", ".join(pending[:5]) + ")")
    return missing


def gate_escalate(incident: Incident) -> list[str]:
    if incident.escalations.exists() or incident.no_escalation_reason.strip():
        return []
    return ["escalate to tier 2 or the security team, or record why no escalation is needed"]


def gate_communicate(incident: Incident) -> list[str]:
    updates = incident.customer_updates.all()  # prefetched on the incident page
    if not any(u.template == "progress" and u.status != UpdateStatus.FAILED for u in updates):
        return ["send the customer at least one progress update"]
    return []


def gate_post_incident(incident: Incident) -> list[str]:
    missing = []
    for field, label in (
        ("resolution_summary", "the resolution summary"),
        ("measures_taken", "the measures taken"),
        ("advice_given", "the advice given"),
    ):
        if not getattr(incident, field).strip():
            missing.append(f"write {label}")
    return missing


GATES: dict[str, Callable[[Incident], list[str]]] = {
    Stage.CONFIRM: gate_confirm,
    Stage.SECURE: gate_secure,
    Stage.INVESTIGATE: gate_investigate,
    Stage.ESCALATE: gate_escalate,
    Stage.COMMUNICATE: gate_communicate,
    Stage.POST_INCIDENT: gate_post_incident,
}


def missing_for_next(incident: Incident) -> list[str]:
    gate = GATES.get(incident.stage)
    return gate(incident) if gate else []


def next_stage(stage: str) -> str | None:
    index = ORDER.index(stage)
    return ORDER[index + 1] if index + 1 < len(ORDER) else None


def ensure_can_move(incident: Incident, to_stage: str, *, closing_not_confirmed: bool = False) -> None:
    """Raise PlaybookError naming the reason if the incident may not move to `to_stage`."""
    if to_stage not in MOVES[incident.stage]:
        raise PlaybookConflict(
            f"{incident.reference} is at “{Stage(incident.stage).label}”; it cannot move to “{Stage(to_stage).label}”."
        )
    if incident.stage == Stage.CLOSED:
        return
    if incident.stage == Stage.CONFIRM and to_stage == Stage.CLOSED:
        if not closing_not_confirmed:
            raise PlaybookError("From step 1 an incident closes only as “not confirmed”, with a reason.")
        if incident.changes.exists():
            raise PlaybookError(
                "Unauthorized changes are recorded: this incident is confirmed and cannot close as a false alarm."
            )
        return
    missing = missing_for_next(incident)
    if missing:
        raise PlaybookConflict("Before moving on: " + "; ".join(missing) + ".")


def ensure_open(incident: Incident) -> None:
    if incident.status != Status.OPEN:
        raise PlaybookConflict(f"{incident.reference} is closed; a supervisor can reopen it.")


def step_states(incident: Incident) -> list[dict]:
    """For the stepper: each step with done / current / todo."""
    current = ORDER.index(incident.stage)
    closed_early = incident.status == Status.NOT_CONFIRMED
    states = []
    for index, (stage, title, hint) in enumerate(STEPS):
        if closed_early:
            state = "done" if index == 0 else "skipped"
        elif index < current:
            state = "done"
        elif index == current:
            state = "current"
        else:
            state = "todo"
        states.append({"number": index + 1, "stage": stage, "title": title, "hint": hint, "state": state})
    return states
