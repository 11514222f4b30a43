"""Personal-data-breach notification duties: deadlines from the rules table, and how each was met.

Deadlines are elapsed time from awareness: `aware_at + hours`, computed in UTC and shown in
settings.TIME_ZONE. "72 hours" is therefore 72 hours of real time, whatever daylight-saving
change falls inside (aware 10:00 CET on the Friday before the spring change is due at 11:00 CEST
on Monday, not 10:00). Day counts are rules of N x 24 hours. "Without undue delay" duties have
no legal hour count: they count down to the rule's internal target (`target_hours`), labelled as
our target, not the law's.
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.roles import BREACH_ROLES
from audit import services as audit
from audit.models import AuditAction
from incidents import services as incidents
from incidents.models import Incident
from incidents.playbook import PlaybookError

from .models import BreachObligation, DataBreach, NotificationRule

WARN_PERCENT = 75  # amber, and the security team is warned, after this share of the period


def jurisdiction_choices() -> list[tuple[str, str]]:
    names = NotificationRule.objects.filter(active=True).values_list("jurisdiction", flat=True).distinct()
    return [(name, name) for name in sorted(set(names))]


def rule_period(rule: NotificationRule) -> timedelta:
    hours = rule.hours if rule.hours is not None else rule.target_hours
    if hours is None:
        raise PlaybookError(f"The rule “{rule}” has neither an hour count nor a target: fix it in the admin.")
    return timedelta(hours=hours)


def deadline(aware_at: datetime, rule: NotificationRule) -> tuple[datetime, datetime]:
    """(due, warn) in UTC: elapsed hours from awareness, immune to DST and time-zone changes."""
    aware_utc = aware_at.astimezone(UTC)
    period = rule_period(rule)
    return aware_utc + period, aware_utc + period * WARN_PERCENT / 100


def _applicable(jurisdictions: list[str], high_risk: bool) -> list[NotificationRule]:
    rules = NotificationRule.objects.filter(active=True, jurisdiction__in=jurisdictions)
    return [rule for rule in rules if high_risk or not rule.high_risk_only]


@transaction.atomic
def mark_data_breach(
    incident: Incident, *, aware_at: datetime, jurisdictions: list[str], high_risk: bool, description: str, actor
) -> DataBreach:
    """Mark (or update) the incident as a personal-data breach and open its notification duties.

    Updating keeps every duty already met as it was; open duties follow a corrected awareness
    time; duties of jurisdictions added later are opened; a duty is never deleted.
    """
    if not actor.has_any_role(BREACH_ROLES):
        raise PermissionDenied("Only the security team or a supervisor marks a personal-data breach.")
    if aware_at > timezone.now() + timedelta(minutes=5):
        raise PlaybookError("The time of awareness cannot be in the future.")
    if aware_at < incident.created_at - timedelta(days=365):
        raise PlaybookError("The time of awareness is more than a year before the incident was opened.")
    if not jurisdictions:
        raise PlaybookError("Choose at least one jurisdiction.")
    rules = _applicable(jurisdictions, high_risk)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    breach = DataBreach.objects.select_for_update().filter(incident=incident).first()
    created = breach is None
    if created:
        breach = DataBreach(incident=incident, marked_by=actor)
    breach.aware_at, breach.jurisdictions, breach.high_risk = aware_at, sorted(jurisdictions), high_risk
    breach.description = description
    breach.save()
    existing = {o.rule_id: o for o in breach.obligations.select_for_update()}
    for rule in rules:
        due_at, warn_at = deadline(aware_at, rule)
        obligation = existing.get(rule.pk)
        if obligation is None:
            BreachObligation.objects.create(breach=breach, rule=rule, due_at=due_at, warn_at=warn_at)
        elif obligation.met_at is None and (obligation.due_at, obligation.warn_at) != (due_at, warn_at):
            obligation.due_at, obligation.warn_at = due_at, warn_at
            obligation.save(update_fields=["due_at", "warn_at"])
    incidents.flag_personal_data_breach(incident, actor=actor)
    audit.record(
        AuditAction.BREACH_MARKED,
        actor=actor,
        target=breach,
        incident_id=incident.pk,
        customer_id=incident.customer_id,
        aware_at=aware_at.isoformat(),
        jurisdictions=breach.jurisdictions,
        high_risk=high_risk,
        updated=not created,
    )
    return breach


@transaction.atomic
def record_obligation_met(obligation: BreachObligation, *, met_at: datetime, how: str, note: str, actor):
    """Close one duty with when and how it was met; a note is required (what was sent, to whom)."""
    if not actor.has_any_role(BREACH_ROLES):
        raise PermissionDenied("Only the security team or a supervisor records a breach notification.")
    obligation = BreachObligation.objects.select_for_update().select_related("breach", "rule").get(pk=obligation.pk)
    if obligation.met_at is not None:
        raise PlaybookError(
            f"Already recorded as made at {timezone.localtime(obligation.met_at):%Y-%m-%d %H:%M} by {obligation.met_by}."
        )
    if met_at > timezone.now() + timedelta(minutes=5):
        raise PlaybookError("The notification cannot have been made in the future.")
    if met_at < obligation.breach.aware_at:
        raise PlaybookError("The notification cannot precede the time of awareness.")
    if not note.strip():
        raise PlaybookError("Write a note: what was sent, to whom, and any reference number.")
    obligation.met_at, obligation.met_how, obligation.met_note, obligation.met_by = met_at, how, note, actor
    obligation.save(update_fields=["met_at", "met_how", "met_note", "met_by"])
    audit.record(
        AuditAction.BREACH_OBLIGATION_MET,
        actor=actor,
        target=obligation,
        incident_id=obligation.breach.incident_id,
        rule=obligation.rule.code,
        how=how,
        late=met_at > obligation.due_at,
    )
    return obligation


def breach_report(start: datetime | None = None, end: datetime | None = None, *, incidents=None) -> list[DataBreach]:
    """Every breach (aware within the range, if given) with its duties, in two queries."""
    breaches = DataBreach.objects.select_related("incident").prefetch_related("obligations__rule")
    if incidents is not None:
        breaches = breaches.filter(incident__in=incidents)
    if start:
        breaches = breaches.filter(aware_at__gte=start)
    if end:
        breaches = breaches.filter(aware_at__lt=end)
    return list(breaches.order_by("-aware_at", "-pk"))


def breach_detail(incident: Incident) -> dict:
    """The incident page's breach panel: the breach and its duties (two queries, or one if none)."""
    breach = DataBreach.objects.filter(incident=incident).first() if incident.personal_data_breach else None
    obligations = list(breach.obligations.select_related("rule", "met_by")) if breach else []
    return {"breach": breach, "obligations": obligations}
