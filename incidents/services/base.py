"""What every service of the kernel shares: the row lock with its version check, the save that
bumps the version, the audit entry of an incident, the role check."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit import services as audit
from audit.models import AuditAction

from ..models import (
    Incident,
)
from ..playbook import PlaybookConflict


class StaleIncident(PlaybookConflict):
    """The incident changed since the agent loaded the page."""


class EscalationTaken(PlaybookConflict):
    """Someone else holds this escalation."""


def lock(incident: Incident, expected_version: int | None = None) -> Incident:
    # Only the incident row is locked, and nothing is joined whose key a concurrent save changes:
    # PostgreSQL rechecks a locked row's joins after the wait, and a join on `updated_by` (which
    # the other agent's save just changed) would make the row vanish from the result.
    locked = Incident.objects.select_for_update(of=("self",)).select_related("customer").get(pk=incident.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleIncident(
            f"{locked.reference} was changed meanwhile by {locked.updated_by} "
            f"(at {timezone.localtime(locked.updated_at):%H:%M:%S}). Review and retry: nothing of yours was saved."
        )
    return locked


def save(incident: Incident, actor, *fields: str) -> None:
    incident.version += 1
    incident.updated_by = actor
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*fields, "version", "updated_by", "updated_at"])


def record(action: AuditAction, incident: Incident, actor, target=None, **data) -> None:
    audit.record(
        action,
        actor=actor,
        target=target or incident,
        incident_id=incident.pk,
        customer_id=incident.customer_id,
        **data,
    )


def playbook_run(incident: Incident) -> int:
    """Which run of the playbook this is (0, then 1 after the first reopen, ...): part of the
    idempotency key of once-per-run emails, so a reopened incident's customer hears again."""
    return incident.reopened_count


def require_role(actor, *roles: str) -> None:
    if not actor.has_any_role(roles):
        raise PermissionDenied("Your role does not allow this.")


def ensure_no_active_escalation(incident: Incident) -> None:
    if incident.escalations.active().exists():
        raise PlaybookConflict("An escalation is still active: the receiving team resolves or hands it back first.")
