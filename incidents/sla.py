"""SLA clocks: the one place that says when an incident's and an escalation's clocks run out.

Every service that creates, reopens or changes the severity of an incident, or opens an
escalation, calls `apply_due_times()`; nothing else writes the due columns. Due times are always
measured from the clock's start with the policy of the *current* severity, so raising the
severity brings a deadline closer (possibly into the past: the next breach tick then alerts at
once).

Clock starts: the first-update clock runs from the opening and is never restarted (a reopened
incident's customer was already answered, or the lateness stands); the resolve clock runs from
`clock_started_at`, the opening or the last reopen, so a reopened incident gets a full resolve
allowance instead of turning red at once; an escalation's claim clock runs from its request.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .models import Escalation, Incident, Severity, SlaPolicy

# Shipped as data by migration 0002 too; used when a severity has no row (e.g. deleted in the admin).
DEFAULT_POLICIES = {
    Severity.CRITICAL: {"first_update_minutes": 15, "claim_minutes": 15, "resolve_minutes": 24 * 60},
    Severity.HIGH: {"first_update_minutes": 30, "claim_minutes": 30, "resolve_minutes": 3 * 24 * 60},
    Severity.MEDIUM: {"first_update_minutes": 2 * 60, "claim_minutes": 4 * 60, "resolve_minutes": 5 * 24 * 60},
    Severity.LOW: {"first_update_minutes": 8 * 60, "claim_minutes": 24 * 60, "resolve_minutes": 10 * 24 * 60},
}
DEFAULT_WARN_PERCENT = 75

# Emails that count as the customer's first update: everything an agent's work sends, not the
# automatic acknowledgement of the report nor a verification code.
FIRST_UPDATE_TEMPLATES = {"securing_advice", "escalated", "progress", "message", "resolution"}


def policy_for(severity: int, policies: dict[int, SlaPolicy] | None = None) -> SlaPolicy:
    """The policy of one severity; `policies` (from all_policies()) saves the query in bulk work."""
    if policies is not None and severity in policies:
        return policies[severity]
    policy = SlaPolicy.objects.filter(severity=severity).first()
    if policy is None:
        policy = SlaPolicy(severity=severity, warn_percent=DEFAULT_WARN_PERCENT, **DEFAULT_POLICIES[Severity(severity)])
    return policy


def all_policies() -> dict[int, SlaPolicy]:
    return {severity: policy_for(severity) for severity in Severity.values}


def _window(start: datetime, minutes: int, warn_percent: int) -> tuple[datetime, datetime]:
    allowance = timedelta(minutes=minutes)
    return start + allowance, start + allowance * warn_percent / 100


def apply_due_times(
    incident: Incident,
    escalation: Escalation | None = None,
    *,
    restart_at: datetime | None = None,
    policies: dict[int, SlaPolicy] | None = None,
) -> list[str]:
    """Set the incident's due/warn times (and those of its escalation, if given) from the policy
    of their severity. Returns the incident fields changed; the caller saves them (and saves the
    escalation's `claim_due_at`/`claim_warn_at` if it passed one that already exists).
    `restart_at` (a reopen) restarts the resolve clock from then."""
    if restart_at is not None:
        incident.clock_started_at = restart_at
    policy = policy_for(incident.severity, policies)
    if incident.clock_started_at is None:
        incident.clock_started_at = incident.created_at
    incident.first_update_due_at, incident.first_update_warn_at = _window(
        incident.created_at, policy.first_update_minutes, policy.warn_percent
    )
    incident.resolve_due_at, incident.resolve_warn_at = _window(
        incident.clock_started_at, policy.resolve_minutes, policy.warn_percent
    )
    if escalation is not None:
        apply_claim_due_times(escalation, policies or {incident.severity: policy})
    return ["first_update_due_at", "first_update_warn_at", "resolve_due_at", "resolve_warn_at", "clock_started_at"]


def apply_claim_due_times(escalation: Escalation, policies: dict[int, SlaPolicy] | None = None) -> None:
    """The claim clock of an escalation, from its request, with the policy of its severity."""
    policy = policy_for(escalation.severity, policies)
    escalation.claim_due_at, escalation.claim_warn_at = _window(
        escalation.requested_at, policy.claim_minutes, policy.warn_percent
    )


def record_first_update(incident: Incident, template: str, at: datetime) -> None:
    """Stop the first-update clock when the first real update to the customer is queued."""
    if template not in FIRST_UPDATE_TEMPLATES or incident.first_update_at is not None:
        return
    Incident.objects.filter(pk=incident.pk, first_update_at__isnull=True).update(first_update_at=at)
    incident.first_update_at = at


# --- How a clock looks ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClockState:
    state: str  # ok, warn, late, met, met_late, none
    label: str
    due_at: datetime | None

    @property
    def css(self) -> str:
        return f"clock clock-{self.state}"


def compact(delta: timedelta) -> str:
    seconds = abs(int(delta.total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours % 24} h"
    if hours:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{minutes} min"


def clock_state(
    due_at: datetime | None, warn_at: datetime | None, met_at: datetime | None, now: datetime | None = None
) -> ClockState:
    """ok (time left), warn (amber: past the warn time), late (red), met / met_late (stopped)."""
    if due_at is None:
        return ClockState("none", "—", None)
    if met_at is not None:
        if met_at <= due_at:
            return ClockState("met", "met", due_at)
        return ClockState("met_late", f"met {compact(met_at - due_at)} late", due_at)
    now = now or timezone.now()
    if now >= due_at:
        return ClockState("late", f"{compact(now - due_at)} overdue", due_at)
    state = "warn" if warn_at is not None and now >= warn_at else "ok"
    return ClockState(state, f"{compact(due_at - now)} left", due_at)


def incident_clock(incident: Incident, now: datetime | None = None) -> tuple[str, ClockState]:
    """The one clock a list row shows: the first update while it runs, then the resolution."""
    if incident.first_update_at is None and incident.first_update_due_at and incident.is_open:
        return "First update", clock_state(incident.first_update_due_at, incident.first_update_warn_at, None, now)
    met = incident.closed_at if not incident.is_open else None
    return "Resolve", clock_state(incident.resolve_due_at, incident.resolve_warn_at, met, now)


def incident_clocks(incident: Incident, active_escalation: Escalation | None, now: datetime | None = None) -> list:
    """The incident page's clocks: [(label, ClockState)], from columns already loaded."""
    closed = incident.closed_at if not incident.is_open else None
    clocks = []
    # Closing stops the first-update clock too (as on the rows): one closed without an update
    # (e.g. not confirmed) no longer shows it, rather than staying red forever.
    if incident.first_update_at is not None or closed is None:
        clocks.append(
            (
                "First customer update",
                clock_state(incident.first_update_due_at, incident.first_update_warn_at, incident.first_update_at, now),
            )
        )
    clocks.append(("Resolve", clock_state(incident.resolve_due_at, incident.resolve_warn_at, closed, now)))  # fmt: skip
    if active_escalation is not None:
        clocks.append(
            (
                f"Claim by {active_escalation.get_to_team_display()}",
                clock_state(
                    active_escalation.claim_due_at, active_escalation.claim_warn_at, active_escalation.claimed_at, now
                ),
            )
        )
    return [(label, state) for label, state in clocks if state.state != "none"]
