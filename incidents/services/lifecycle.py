"""Opening, moving through the playbook, closing (not confirmed, or resolved with the final
email), reopening; the personal-data-breach flag; the read-access log."""

from django.db import transaction
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditAction

from .. import playbook, selectors, sla
from ..emails import notify_customer, resolution_context
from ..models import (
    Customer,
    Incident,
    Stage,
    Status,
)
from ..playbook import PlaybookError
from .base import ensure_no_active_escalation, lock, playbook_run, record, require_role, save

# --- Opening and closing -----------------------------------------------------------------


@transaction.atomic
def open_incident(*, customer: Customer, channel: str, summary: str, severity: int, actor) -> Incident:
    """A customer reports unusual activity; they get an acknowledgement at once."""
    now = timezone.now()
    incident = Incident(
        customer=customer,
        channel=channel,
        summary=summary,
        severity=severity,
        assignee=actor,
        opened_by=actor,
        updated_by=actor,
        created_at=now,
        updated_at=now,
    )
    sla.apply_due_times(incident)
    incident.save(force_insert=True)
    record(AuditAction.INCIDENT_OPENED, incident, actor, channel=channel, severity=int(severity))
    notify_customer(incident, template="acknowledgement", actor=actor, key=f"{incident.pk}:acknowledgement")
    return incident


@transaction.atomic
def close_not_confirmed(incident: Incident, *, reason: str, actor, expected_version: int) -> Incident:
    """Step 1 found nothing unauthorized: a false alarm, closed with the reason."""
    incident = lock(incident, expected_version)
    playbook.ensure_open(incident)
    if not reason.strip():
        raise PlaybookError("Say why the activity is not confirmed as unauthorized.")
    playbook.ensure_can_move(incident, Stage.CLOSED, closing_not_confirmed=True)
    ensure_no_active_escalation(incident)
    incident.not_confirmed_reason = reason
    incident.stage, incident.status, incident.closed_at = Stage.CLOSED, Status.NOT_CONFIRMED, timezone.now()
    incident.assignee = actor  # whoever closes it holds the closed record
    save(incident, actor, "not_confirmed_reason", "stage", "status", "closed_at", "assignee")
    record(AuditAction.INCIDENT_CLOSED, incident, actor, outcome="not_confirmed")
    return incident


@transaction.atomic
def reopen_incident(incident: Incident, *, reason: str, actor) -> Incident:
    require_role(actor, Role.SUPERVISOR)
    incident = lock(incident)
    if incident.status == Status.OPEN:
        raise PlaybookError(f"{incident.reference} is already open.")
    if not reason.strip():
        raise PlaybookError("Say why the incident is reopened.")
    playbook.ensure_can_move(incident, Stage.CONFIRM)
    previous = incident.status
    incident.stage, incident.status, incident.closed_at = Stage.CONFIRM, Status.OPEN, None
    incident.reopened_count += 1
    clock_fields = sla.apply_due_times(incident, restart_at=timezone.now())
    save(incident, actor, "stage", "status", "closed_at", "reopened_count", *clock_fields)
    record(AuditAction.INCIDENT_REOPENED, incident, actor, previous_status=previous, reason=reason)
    return incident


@transaction.atomic
def advance(incident: Incident, *, actor, expected_version: int) -> Incident:
    """Move to the next step once the current step's gate is satisfied."""
    incident = lock(incident, expected_version)
    playbook.ensure_open(incident)
    to_stage = playbook.next_stage(incident.stage)
    if incident.stage == Stage.POST_INCIDENT or to_stage is None:
        raise PlaybookError("Close the incident with the resolution form of step 6.")
    playbook.ensure_can_move(incident, to_stage)
    from_stage, incident.stage = incident.stage, to_stage
    fields = ["stage"]
    if from_stage == Stage.SECURE and incident.secured_at is None:
        incident.secured_at = timezone.now()
        fields.append("secured_at")
    save(incident, actor, *fields)
    record(AuditAction.STAGE_ADVANCED, incident, actor, from_stage=from_stage, to_stage=to_stage)
    return incident


# --- Step 6: resolve ------------------------------------------------------------------------------


@transaction.atomic
def resolve_incident(
    incident: Incident, *, resolution_summary: str, measures_taken: str, advice_given: str, actor, expected_version: int
) -> Incident:
    """Write the resolution, send it as the final email, and close the incident."""
    incident = lock(incident, expected_version)
    playbook.ensure_open(incident)
    if incident.stage != Stage.POST_INCIDENT:
        raise PlaybookError(f"Resolve from step 6; {incident.reference} is at “{Stage(incident.stage).label}”.")
    incident.resolution_summary = resolution_summary
    incident.measures_taken = measures_taken
    incident.advice_given = advice_given
    playbook.ensure_can_move(incident, Stage.CLOSED)
    ensure_no_active_escalation(incident)
    incident.stage, incident.status, incident.closed_at = Stage.CLOSED, Status.RESOLVED, timezone.now()
    incident.assignee = actor  # whoever closes it holds the closed record
    save(
        incident,
        actor,
        "resolution_summary",
        "measures_taken",
        "advice_given",
        "stage",
        "status",
        "closed_at",
        "assignee",
    )
    record(AuditAction.INCIDENT_CLOSED, incident, actor, outcome="resolved")
    notify_customer(
        incident,
        template="resolution",
        actor=actor,
        key=f"{incident.pk}:resolution:{playbook_run(incident)}",
        **resolution_context(
            incident,
            resolution_summary=incident.resolution_summary,
            measures_taken=incident.measures_taken,
            advice_given=incident.advice_given,
            report=selectors.post_incident_report(incident),
        ),
    )
    return incident


@transaction.atomic
def flag_personal_data_breach(incident: Incident, *, actor) -> Incident:
    """Mark the incident as a personal-data breach (the breaches app holds the breach itself).

    Once flagged, it stays flagged; flagging needs an open incident.
    """
    incident = lock(incident)
    if incident.personal_data_breach:
        return incident
    playbook.ensure_open(incident)
    incident.personal_data_breach = True
    save(incident, actor, "personal_data_breach")
    record(AuditAction.INCIDENT_UPDATED, incident, actor, field="personal_data_breach")
    return incident


def record_view(incident: Incident, *, actor, page: str = "incident") -> None:
    """The read-access log: which agent opened which customer's incident, and which page of it."""
    record(AuditAction.INCIDENT_VIEWED, incident, actor, page=page)
