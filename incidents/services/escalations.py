"""Step 4: severity, restriction, escalation to tier 2 or the security team, and the queues'
claims, hand-backs and resolutions."""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditAction

from .. import playbook, sla
from ..emails import notify_customer
from ..models import (
    Escalation,
    EscalationStatus,
    Incident,
    Severity,
    Team,
)
from ..playbook import PlaybookError
from .base import EscalationTaken, lock, record, require_role, save

# --- Step 4: escalate ----------------------------------------------------------------------------


@transaction.atomic
def raise_severity(incident: Incident, *, to: int, reason: str, actor) -> Incident:
    """Raise an incident's severity to at least `to` (never lowers it), with the reason."""
    if incident.severity >= to:
        return incident
    return change_severity(incident, severity=to, reason=reason, actor=actor, only_raise=True)


@transaction.atomic
def escalate_for_campaign(incident: Incident, *, reason: str, actor) -> Escalation:
    """The automatic escalation a campaign causes: at least high severity, to the security team.

    Made in the name of the agent whose save found the campaign, and audited with the reason.
    An active security escalation is kept (the campaign is recorded on the incident); an active
    tier-2 escalation is passed on to the security team, which is where a campaign belongs.
    """
    raise_severity(incident, to=Severity.HIGH, reason=reason, actor=actor)
    incident = lock(incident)
    active = incident.escalations.select_for_update().active().first()
    if active is not None and active.to_team == Team.SECURITY:
        record(AuditAction.INCIDENT_UPDATED, incident, actor, target=active, field="campaign", reason=reason)
        return active
    if active is not None:
        active.status, active.closed_at = EscalationStatus.RESOLVED, timezone.now()
        active.outcome = f"Passed on to the security team. {reason}"
        active.save(update_fields=["status", "closed_at", "outcome"])
        record(AuditAction.ESCALATION_RESOLVED, incident, actor, target=active, passed_on_to=Team.SECURITY)
    return escalate(incident, to_team=Team.SECURITY, reason=reason, severity=Severity.HIGH, actor=actor, automatic=True)


@transaction.atomic
def escalate(
    incident: Incident,
    *,
    to_team: str,
    reason: str,
    severity: int,
    actor,
    restrict: bool = False,
    automatic: bool = False,
) -> Escalation:
    """Hand the incident to tier 2 or security (possible at any stage); the customer is told.

    `restrict` (security escalations only) hides the incident from tier 1 and tier 2 from now on.
    `automatic` marks an escalation the desk made (a campaign), not the agent's own decision.
    """
    incident = lock(incident)
    playbook.ensure_open(incident)
    if to_team not in (Team.TIER2, Team.SECURITY):
        raise PlaybookError("Escalate to tier 2 or to the security team.")
    if (restrict or incident.restricted) and to_team != Team.SECURITY:
        raise PlaybookError("A restricted incident goes to the security team only (tier 2 may not see it).")
    if not reason.strip():
        raise PlaybookError("Say why the incident is escalated.")
    if incident.escalations.active().exists():
        raise PlaybookError(f"{incident.reference} already has an active escalation.")
    severity = max(int(severity), incident.severity)
    now = timezone.now()
    escalation = Escalation(
        incident=incident,
        from_team=incident.team,
        to_team=to_team,
        severity=severity,
        reason=reason,
        requested_by=actor,
        requested_at=now,
    )
    # Ownership: waiting in the receiving team's queue, nobody's until claimed (README, "Who holds it").
    incident.team, incident.severity, incident.assignee = to_team, severity, None
    clock_fields = sla.apply_due_times(incident, escalation)
    try:
        with transaction.atomic():
            escalation.save(force_insert=True)
    except IntegrityError as exc:
        raise PlaybookError(f"{incident.reference} already has an active escalation.") from exc
    incident.restricted = incident.restricted or restrict
    if incident.escalated_at is None:
        incident.escalated_at = now
        clock_fields.append("escalated_at")
    save(incident, actor, "team", "severity", "assignee", "restricted", *clock_fields)
    record(
        AuditAction.ESCALATED,
        incident,
        actor,
        target=escalation,
        to_team=to_team,
        severity=severity,
        restricted=restrict,
        **({"automatic": True, "reason": escalation.reason[:500]} if automatic else {}),
    )
    notify_customer(incident, template="escalated", actor=actor, key=f"{incident.pk}:escalated:{escalation.pk}")
    return escalation


@transaction.atomic
def change_severity(incident: Incident, *, severity: int, reason: str, actor, only_raise: bool = False) -> Incident:
    """Change an incident's severity; its clocks (and its waiting escalation's) follow the new policy.

    The one place severity changes outside an escalation (which may raise it in `escalate`).
    `only_raise` keeps a higher severity set meanwhile by someone else.
    """
    if int(severity) not in Severity.values:
        raise PlaybookError("Choose low, medium, high or critical.")
    if not reason.strip():
        raise PlaybookError("Say why the severity changes.")
    incident = lock(incident)
    playbook.ensure_open(incident)
    if incident.severity == int(severity) or (only_raise and incident.severity > int(severity)):
        return incident
    previous, incident.severity = incident.severity, int(severity)
    waiting = incident.escalations.filter(status=EscalationStatus.OPEN).select_for_update().first()
    if waiting is not None:
        waiting.severity = incident.severity
    clock_fields = sla.apply_due_times(incident, waiting)
    if waiting is not None:
        waiting.save(update_fields=["severity", "claim_due_at", "claim_warn_at"])
    save(incident, actor, "severity", *clock_fields)
    record(
        AuditAction.SEVERITY_CHANGED,
        incident,
        actor,
        from_severity=previous,
        to_severity=incident.severity,
        reason=reason[:500],
    )
    return incident


@transaction.atomic
def set_restricted(incident: Incident, *, restricted: bool, reason: str, actor) -> Incident:
    """The security team hides an incident from tier 1 and tier 2 (or lifts that), with the reason."""
    require_role(actor, Role.SECURITY, Role.SUPERVISOR)
    if not reason.strip():
        raise PlaybookError("Say why the incident's visibility changes.")
    incident = lock(incident)
    incident.restricted = restricted
    save(incident, actor, "restricted")
    record(
        AuditAction.INCIDENT_UPDATED,
        incident,
        actor,
        field="restricted",
        restricted=restricted,
        reason=reason,
    )
    return incident


@transaction.atomic
def decide_no_escalation(incident: Incident, *, reason: str, actor, expected_version: int) -> Incident:
    incident = lock(incident, expected_version)
    playbook.ensure_open(incident)
    if not reason.strip():
        raise PlaybookError("Say why no escalation is needed.")
    incident.no_escalation_reason = reason
    save(incident, actor, "no_escalation_reason")
    record(AuditAction.NO_ESCALATION, incident, actor)
    return incident


def _may_work_queue(actor, team: str) -> bool:
    if actor.has_any_role([Role.SUPERVISOR]):
        return True
    return actor.has_any_role([Role.SECURITY] if team == Team.SECURITY else [Role.TIER2, Role.SECURITY])


@transaction.atomic
def claim_escalation(escalation: Escalation, *, actor) -> Escalation:
    """Exactly one claimant: the conditional UPDATE lets one of concurrent claims win."""
    if not _may_work_queue(actor, escalation.to_team):
        raise PermissionDenied("Only the receiving team can claim this escalation.")
    # The incident first, then the escalation: the order every service that writes both keeps
    # (escalate, change_severity, campaign detection), so two of them cannot deadlock.
    incident = lock(escalation.incident)
    playbook.ensure_open(incident)
    now = timezone.now()
    won = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.OPEN, claimed_by__isnull=True).update(
        status=EscalationStatus.CLAIMED, claimed_by=actor, claimed_at=now
    )
    escalation = Escalation.objects.select_related("claimed_by", "incident").get(pk=escalation.pk)
    if not won:
        if escalation.claimed_by_id:
            raise EscalationTaken(
                f"Already claimed by {escalation.claimed_by} at {timezone.localtime(escalation.claimed_at):%H:%M}."
            )
        raise EscalationTaken(f"This escalation is {escalation.get_status_display().lower()}.")
    incident.team, incident.assignee = escalation.to_team, actor
    save(incident, actor, "team", "assignee")
    record(AuditAction.ESCALATION_CLAIMED, incident, actor, target=escalation, team=incident.team, assignee=actor.pk)
    return escalation


def _close_claimed(
    escalation: Escalation, *, status: str, text: str, missing: str, actor
) -> tuple[Escalation, Incident]:
    """End a claimed escalation (resolved or handed back); only its claimant or a supervisor may."""
    incident = lock(escalation.incident)  # before the escalation row: see claim_escalation
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.status != EscalationStatus.CLAIMED:
        raise PlaybookError("Claim the escalation first.")
    if escalation.claimed_by_id != actor.pk and not actor.has_any_role([Role.SUPERVISOR]):
        raise PermissionDenied("Only the agent who claimed it (or a supervisor) can do this.")
    if not text.strip():
        raise PlaybookError(missing)
    escalation.status, escalation.closed_at, escalation.outcome = status, timezone.now(), text
    escalation.save(update_fields=["status", "closed_at", "outcome"])
    return escalation, incident


@transaction.atomic
def return_escalation(escalation: Escalation, *, reason: str, actor) -> Escalation:
    """Hand the incident back to the team that escalated it, with the reason."""
    escalation, incident = _close_claimed(
        escalation,
        status=EscalationStatus.RETURNED,
        text=reason,
        missing="Say why the incident goes back.",
        actor=actor,
    )
    give_back(incident, escalation)
    save(incident, actor, "team", "assignee")
    record(
        AuditAction.ESCALATION_RETURNED,
        incident,
        actor,
        target=escalation,
        team=incident.team,
        assignee=incident.assignee_id,
    )
    return escalation


@transaction.atomic
def resolve_escalation(escalation: Escalation, *, outcome: str, actor) -> Escalation:
    """The receiving team is done; the incident goes on with its playbook."""
    escalation, incident = _close_claimed(
        escalation,
        status=EscalationStatus.RESOLVED,
        text=outcome,
        missing="Describe what the team found and did.",
        actor=actor,
    )
    give_back(incident, escalation)
    save(incident, actor, "team", "assignee")
    record(
        AuditAction.ESCALATION_RESOLVED,
        incident,
        actor,
        target=escalation,
        team=incident.team,
        assignee=incident.assignee_id,
    )
    return escalation


def give_back(incident: Incident, escalation: Escalation) -> None:
    """An escalation ends (resolved or handed back): the incident goes back to the team and the
    agent that escalated it, who walk the rest of the playbook (README, "Who holds it")."""
    incident.team, incident.assignee_id = escalation.from_team, escalation.requested_by_id
