"""Every state-changing use case of an incident: one function each, transactional, audited.

Views, commands and tasks call these; none of them sets `stage` or `status` itself.
"""

import hashlib

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Role
from audit import services as audit
from audit.models import AuditAction
from core.redaction import redacted
from notifications import outbox
from notifications.models import CustomerUpdate

from . import hooks, ipextract, playbook, selectors, sla

# Changing a customer: the one door, in its own module with the guard on the email of record.
from .customers import change_customer  # noqa: F401
from .emails import notify_customer, progress_context, resolution_context
from .models import (
    Customer,
    Escalation,
    EscalationStatus,
    Incident,
    Indicator,
    Note,
    NoteVisibility,
    Severity,
    Stage,
    Status,
    Team,
    UnauthorizedChange,
    Verdict,
    network_of,
)
from .playbook import PlaybookError
from .verification import ensure_caller_verified


class StaleIncident(PlaybookError):
    """The incident changed since the agent loaded the page."""


class EscalationTaken(PlaybookError):
    """Someone else holds this escalation."""


def _lock(incident: Incident, expected_version: int | None = None) -> Incident:
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


def _save(incident: Incident, actor, *fields: str) -> None:
    incident.version += 1
    incident.updated_by = actor
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*fields, "version", "updated_by", "updated_at"])


def _record(action: AuditAction, incident: Incident, actor, target=None, **data) -> None:
    audit.record(
        action,
        actor=actor,
        target=target or incident,
        incident_id=incident.pk,
        customer_id=incident.customer_id,
        **data,
    )


def _run(incident: Incident) -> int:
    """Which run of the playbook this is (0, then 1 after the first reopen, ...): part of the
    idempotency key of once-per-run emails, so a reopened incident's customer hears again."""
    from audit.models import AuditEntry

    return AuditEntry.objects.filter(incident_id=incident.pk, action=AuditAction.INCIDENT_REOPENED).count()


def _require_role(actor, *roles: str) -> None:
    if not actor.has_any_role(roles):
        raise PermissionDenied("Your role does not allow this.")


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
    _record(AuditAction.INCIDENT_OPENED, incident, actor, channel=channel, severity=int(severity))
    notify_customer(incident, template="acknowledgement", actor=actor, key=f"{incident.pk}:acknowledgement")
    return incident


def _ensure_no_active_escalation(incident: Incident) -> None:
    if incident.escalations.active().exists():
        raise PlaybookError("An escalation is still active: the receiving team resolves or hands it back first.")


@transaction.atomic
def close_not_confirmed(incident: Incident, *, reason: str, actor, expected_version: int) -> Incident:
    """Step 1 found nothing unauthorized: a false alarm, closed with the reason."""
    incident = _lock(incident, expected_version)
    playbook.ensure_open(incident)
    if not reason.strip():
        raise PlaybookError("Say why the activity is not confirmed as unauthorized.")
    playbook.ensure_can_move(incident, Stage.CLOSED, closing_not_confirmed=True)
    _ensure_no_active_escalation(incident)
    incident.not_confirmed_reason = reason
    incident.stage, incident.status, incident.closed_at = Stage.CLOSED, Status.NOT_CONFIRMED, timezone.now()
    _save(incident, actor, "not_confirmed_reason", "stage", "status", "closed_at")
    _record(AuditAction.INCIDENT_CLOSED, incident, actor, outcome="not_confirmed")
    return incident


@transaction.atomic
def reopen_incident(incident: Incident, *, reason: str, actor) -> Incident:
    _require_role(actor, Role.SUPERVISOR)
    incident = _lock(incident)
    if incident.status == Status.OPEN:
        raise PlaybookError(f"{incident.reference} is already open.")
    if not reason.strip():
        raise PlaybookError("Say why the incident is reopened.")
    playbook.ensure_can_move(incident, Stage.CONFIRM)
    previous = incident.status
    incident.stage, incident.status, incident.closed_at = Stage.CONFIRM, Status.OPEN, None
    clock_fields = sla.apply_due_times(incident, restart_at=timezone.now())
    _save(incident, actor, "stage", "status", "closed_at", *clock_fields)
    _record(AuditAction.INCIDENT_REOPENED, incident, actor, previous_status=previous, reason=reason)
    return incident


@transaction.atomic
def advance(incident: Incident, *, actor, expected_version: int) -> Incident:
    """Move to the next step once the current step's gate is satisfied."""
    incident = _lock(incident, expected_version)
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
    _save(incident, actor, *fields)
    _record(AuditAction.STAGE_ADVANCED, incident, actor, from_stage=from_stage, to_stage=to_stage)
    return incident


# --- Step 1: confirm ---------------------------------------------------------------------------


@transaction.atomic
def record_unauthorized_change(
    incident: Incident, *, kind: str, description: str, noticed_at, actor, expected_version: int
) -> UnauthorizedChange:
    incident = _lock(incident, expected_version)
    playbook.ensure_open(incident)
    change = UnauthorizedChange.objects.create(
        incident=incident, kind=kind, description=description, noticed_at=noticed_at, recorded_by=actor
    )
    _save(incident, actor)
    _record(AuditAction.CHANGE_RECORDED, incident, actor, target=change, kind=kind)
    return change


# --- Step 2: secure ----------------------------------------------------------------------------


@transaction.atomic
def record_securing(
    incident: Incident, *, password_advice: str, customer_two_factor: str, actor, expected_version: int
) -> Incident:
    """Record the securing checklist; the customer gets the securing advice by email once."""
    incident = _lock(incident, expected_version)
    playbook.ensure_open(incident)
    ensure_caller_verified(incident)
    now = timezone.now()
    fields = []
    if password_advice and password_advice != incident.password_advice:
        incident.password_advice, incident.password_advice_at = password_advice, now
        fields += ["password_advice", "password_advice_at"]
    if customer_two_factor and customer_two_factor != incident.customer_two_factor:
        incident.customer_two_factor, incident.customer_two_factor_at = customer_two_factor, now
        fields += ["customer_two_factor", "customer_two_factor_at"]
    if not fields:
        raise PlaybookError("Nothing changed: choose an answer for the password and for two-factor authentication.")
    _save(incident, actor, *fields)
    _record(
        AuditAction.SECURING_RECORDED,
        incident,
        actor,
        password_advice=incident.password_advice,
        customer_two_factor=incident.customer_two_factor,
    )
    notify_customer(
        incident, template="securing_advice", actor=actor, key=f"{incident.pk}:securing_advice:{_run(incident)}"
    )
    return incident


# --- Step 3: investigate -------------------------------------------------------------------------


@transaction.atomic
def record_findings(incident: Incident, *, findings: str, actor, expected_version: int) -> Incident:
    incident = _lock(incident, expected_version)
    playbook.ensure_open(incident)
    incident.findings = findings
    _save(incident, actor, "findings")
    _record(AuditAction.INCIDENT_UPDATED, incident, actor, field="findings")
    return incident


@transaction.atomic
def add_indicators_from_log(incident: Incident, *, log_text: str, actor) -> list[Indicator]:
    """Every IP address in pasted activity-log text becomes an indicator (once per incident)."""
    incident = _lock(incident)
    playbook.ensure_open(incident)
    found = ipextract.extract(redacted(log_text))
    if not found:
        raise PlaybookError("No IPv4 or IPv6 address was found in that text.")
    known = set(incident.indicators.values_list("ip", flat=True))
    created = []
    for address in found:
        if address.ip in known:
            continue
        indicator = Indicator.objects.create(
            incident=incident,
            ip=address.ip,
            network=network_of(address.ip),
            scope=address.scope,
            context=address.line,
            recorded_by=actor,
        )
        created.append(indicator)
        _record(AuditAction.INDICATOR_RECORDED, incident, actor, target=indicator, ip=address.ip, scope=address.scope)
    _save(incident, actor)
    return created


@transaction.atomic
def set_indicator_verdict(indicator: Indicator, *, verdict: str, actor) -> Indicator:
    """Judge one address; the satellites subscribed to `hooks.verdicts` (campaign detection: an
    unauthorized or unknown address is looked for in other customers' incidents) run in this
    transaction."""
    subscribers = list(hooks.verdicts)
    for subscriber in subscribers:
        subscriber.before_lock(verdict)
    incident = _lock(indicator.incident)
    playbook.ensure_open(incident)
    if verdict not in Verdict.values or verdict == Verdict.PENDING:
        raise PlaybookError("Choose unauthorized, legitimate or unknown.")
    indicator = Indicator.objects.select_for_update().get(pk=indicator.pk)
    indicator.verdict = verdict
    # What the subscribers write is locked before anything is audited; the saves below are audited.
    prepared = [(subscriber, subscriber.prepare(incident, indicator, verdict)) for subscriber in subscribers]
    indicator.save(update_fields=["verdict"])
    _save(incident, actor)
    _record(AuditAction.INDICATOR_VERDICT, incident, actor, target=indicator, ip=indicator.ip, verdict=verdict)
    for subscriber, state in prepared:
        subscriber.after(incident, state, actor=actor)
    return indicator


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
    incident = _lock(incident)
    active = incident.escalations.select_for_update().active().first()
    if active is not None and active.to_team == Team.SECURITY:
        _record(AuditAction.INCIDENT_UPDATED, incident, actor, target=active, field="campaign", reason=reason)
        return active
    if active is not None:
        active.status, active.closed_at = EscalationStatus.RESOLVED, timezone.now()
        active.outcome = f"Passed on to the security team. {reason}"
        active.save(update_fields=["status", "closed_at", "outcome"])
        _record(AuditAction.ESCALATION_RESOLVED, incident, actor, target=active, passed_on_to=Team.SECURITY)
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
    incident = _lock(incident)
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
    incident.team, incident.severity = to_team, severity
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
    _save(incident, actor, "team", "severity", "restricted", *clock_fields)
    _record(
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
    incident = _lock(incident)
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
    _save(incident, actor, "severity", *clock_fields)
    _record(
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
    _require_role(actor, Role.SECURITY, Role.SUPERVISOR)
    if not reason.strip():
        raise PlaybookError("Say why the incident's visibility changes.")
    incident = _lock(incident)
    incident.restricted = restricted
    _save(incident, actor, "restricted")
    _record(
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
    incident = _lock(incident, expected_version)
    playbook.ensure_open(incident)
    if not reason.strip():
        raise PlaybookError("Say why no escalation is needed.")
    incident.no_escalation_reason = reason
    _save(incident, actor, "no_escalation_reason")
    _record(AuditAction.NO_ESCALATION, incident, actor)
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
    incident = _lock(escalation.incident)
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
    incident.assignee = actor
    _save(incident, actor, "assignee")
    _record(AuditAction.ESCALATION_CLAIMED, incident, actor, target=escalation)
    return escalation


def _close_claimed(
    escalation: Escalation, *, status: str, text: str, missing: str, actor
) -> tuple[Escalation, Incident]:
    """End a claimed escalation (resolved or handed back); only its claimant or a supervisor may."""
    incident = _lock(escalation.incident)  # before the escalation row: see claim_escalation
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
    incident.team, incident.assignee = escalation.from_team, escalation.requested_by
    _save(incident, actor, "team", "assignee")
    _record(AuditAction.ESCALATION_RETURNED, incident, actor, target=escalation)
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
    _save(incident, actor)
    _record(AuditAction.ESCALATION_RESOLVED, incident, actor, target=escalation)
    return escalation


# --- Step 5: communicate, and notes throughout ----------------------------------------------------


@transaction.atomic
def send_progress_update(incident: Incident, *, message: str, actor):
    """Email the customer a progress update; the same text twice (a double-click) goes out once."""
    incident = _lock(incident)
    playbook.ensure_open(incident)
    if not message.strip():
        raise PlaybookError("Write the progress update for the customer.")
    message = redacted(message)
    digest = hashlib.sha256(" ".join(message.split()).encode()).hexdigest()[:16]
    update = notify_customer(
        incident, template="progress", actor=actor, key=f"{incident.pk}:progress:{digest}",
        **progress_context(incident, message=message),
    )  # fmt: skip
    if update is None:
        raise PlaybookError("This exact update was already sent to the customer.")
    _save(incident, actor)
    return update


@transaction.atomic
def add_note(incident: Incident, *, body: str, visibility: str, actor) -> Note:
    """An internal note, or a message to the customer (which is also emailed)."""
    incident = _lock(incident)
    if not body.strip():
        raise PlaybookError("The note is empty.")
    note = Note.objects.create(incident=incident, author=actor, visibility=visibility, body=body)
    _save(incident, actor)
    _record(AuditAction.NOTE_ADDED, incident, actor, target=note, visibility=visibility)
    if visibility == NoteVisibility.CUSTOMER:
        playbook.ensure_open(incident)
        notify_customer(
            incident, template="message", actor=actor, key=f"{incident.pk}:note:{note.pk}", message=note.body
        )
    return note


# --- Step 6: resolve ------------------------------------------------------------------------------


@transaction.atomic
def resolve_incident(
    incident: Incident, *, resolution_summary: str, measures_taken: str, advice_given: str, actor, expected_version: int
) -> Incident:
    """Write the resolution, send it as the final email, and close the incident."""
    incident = _lock(incident, expected_version)
    playbook.ensure_open(incident)
    if incident.stage != Stage.POST_INCIDENT:
        raise PlaybookError(f"Resolve from step 6; {incident.reference} is at “{Stage(incident.stage).label}”.")
    incident.resolution_summary = resolution_summary
    incident.measures_taken = measures_taken
    incident.advice_given = advice_given
    playbook.ensure_can_move(incident, Stage.CLOSED)
    _ensure_no_active_escalation(incident)
    incident.stage, incident.status, incident.closed_at = Stage.CLOSED, Status.RESOLVED, timezone.now()
    _save(incident, actor, "resolution_summary", "measures_taken", "advice_given", "stage", "status", "closed_at")
    _record(AuditAction.INCIDENT_CLOSED, incident, actor, outcome="resolved")
    notify_customer(
        incident,
        template="resolution",
        actor=actor,
        key=f"{incident.pk}:resolution:{_run(incident)}",
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
    incident = _lock(incident)
    if incident.personal_data_breach:
        return incident
    playbook.ensure_open(incident)
    incident.personal_data_breach = True
    _save(incident, actor, "personal_data_breach")
    _record(AuditAction.INCIDENT_UPDATED, incident, actor, field="personal_data_breach")
    return incident


def record_view(incident: Incident, *, actor, page: str = "incident") -> None:
    """The read-access log: which agent opened which customer's incident, and which page of it."""
    _record(AuditAction.INCIDENT_VIEWED, incident, actor, page=page)


@transaction.atomic
def create_customer(*, display_name: str, email: str, account_reference: str, language: str, actor) -> Customer:
    if Customer.objects.filter(account_reference__iexact=account_reference.strip()).exists():
        raise PlaybookError("A customer with that account reference exists already: search for it instead.")
    customer = Customer.objects.create(
        display_name=display_name.strip(),
        email=email.strip().lower(),
        account_reference=account_reference.strip(),
        language=language,
    )
    audit.record(AuditAction.CUSTOMER_CREATED, actor=actor, target=customer, customer_id=customer.pk)
    return customer


# --- Customer emails ------------------------------------------------------------------------------


@transaction.atomic
def retry_customer_update(update: CustomerUpdate, *, actor) -> CustomerUpdate:
    """Queue a failed email of an incident again, once the agent has dealt with the cause.

    The content stays exactly what was rendered (the customer gets what the panel shows); the
    recipient follows the customer's current address, so a corrected address is used.
    """
    incident = update.incident
    if incident is None:
        raise PlaybookError("Only an incident's email can be sent again from the desk.")
    try:
        return outbox.requeue(update, address_of_record=incident.customer.email, actor=actor)
    except outbox.NotRequeued as exc:
        raise PlaybookError(str(exc)) from exc
