"""SLA and deadline alerts: clocks about to run out and run out, each told to its team exactly once.

The periodic tick (celery beat, every minute) looks for clocks whose warn or due time is at or
before *now* and that have no alert of that kind yet, so a tick after the beat was down catches
up on everything it missed. The alert row's unique key is the "exactly once": two concurrent
ticks both try to insert it and only one succeeds. The key holds the due time, so a clock whose
deadline moves (severity changed, awareness time corrected, incident reopened) alerts again for
its new deadline, and the banner shows only alerts of the deadline a clock has now. Team emails are sent from the alert rows
(`emailed_at` empty), under a row lock, so a failed send is retried by the next tick and a
sent one never repeats.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.roles import Role
from audit import services as audit
from audit.models import AuditAction
from breaches.models import BreachObligation
from incidents.models import Escalation, EscalationStatus, Incident, Status, Team
from incidents.selectors import visibility

from .models import AlertKind, SlaAlert, SlaClock

logger = logging.getLogger(__name__)

BATCH = 500  # per clock and kind and tick; the rest follow on the next tick
MAX_EMAIL_ATTEMPTS = 5


@dataclass(frozen=True)
class Candidate:
    clock: str
    kind: str
    team: str
    incident_id: int
    due_at: datetime
    escalation_id: int | None = None
    obligation_id: int | None = None

    @property
    def key(self) -> str:
        subject = self.escalation_id or self.obligation_id or self.incident_id
        return f"{self.clock}:{subject}:{self.kind}:{int(self.due_at.timestamp())}"


def _without_alert(queryset: QuerySet, field: str, clock: str, kind: str, due: str) -> QuerySet:
    """Rows with no alert of this kind for the deadline they have now (`due`: their due column)."""
    existing = SlaAlert.objects.filter(**{field: OuterRef("pk")}, clock=clock, kind=kind, due_at=OuterRef(due))
    return queryset.filter(~Exists(existing))


def alert_team(incident: Incident, team: str) -> str:
    """A restricted incident's alerts go to the security team: the only team that may open it."""
    return Team.SECURITY if incident.restricted else team


def _threshold(kind: str, prefix: str, now: datetime) -> Q:
    # A warning for a clock that already ran out is noise: after a gap only "ran out" is sent.
    if kind == AlertKind.BREACHED:
        return Q(**{f"{prefix}_due_at__lte": now})
    return Q(**{f"{prefix}_warn_at__lte": now, f"{prefix}_due_at__gt": now})


def due_candidates(now: datetime) -> list[Candidate]:
    """Every clock past its warn or due time that has not been alerted for that kind yet."""
    found: list[Candidate] = []
    for kind in (AlertKind.BREACHED, AlertKind.WARNING):
        claims = Escalation.objects.filter(_threshold(kind, "claim", now), status=EscalationStatus.OPEN)
        claims = _without_alert(claims, "escalation", SlaClock.CLAIM, kind, "claim_due_at").select_related("incident")
        for e in claims.order_by("claim_due_at")[:BATCH]:
            team = alert_team(e.incident, e.to_team)
            found.append(Candidate(SlaClock.CLAIM, kind, team, e.incident_id, e.claim_due_at, escalation_id=e.pk))
        open_incidents = Incident.objects.filter(status=Status.OPEN)
        updates = open_incidents.filter(_threshold(kind, "first_update", now), first_update_at__isnull=True)
        updates = _without_alert(updates, "incident", SlaClock.FIRST_UPDATE, kind, "first_update_due_at")
        for i in updates.order_by("first_update_due_at")[:BATCH]:
            found.append(Candidate(SlaClock.FIRST_UPDATE, kind, alert_team(i, i.team), i.pk, i.first_update_due_at))
        resolves = open_incidents.filter(_threshold(kind, "resolve", now))
        resolves = _without_alert(resolves, "incident", SlaClock.RESOLVE, kind, "resolve_due_at")
        for i in resolves.order_by("resolve_due_at")[:BATCH]:
            found.append(Candidate(SlaClock.RESOLVE, kind, alert_team(i, i.team), i.pk, i.resolve_due_at))
        if kind == AlertKind.BREACHED:
            duties = BreachObligation.objects.filter(due_at__lte=now)
        else:
            duties = BreachObligation.objects.filter(warn_at__lte=now, due_at__gt=now)
        duties = _without_alert(duties.filter(met_at__isnull=True), "obligation", SlaClock.NOTIFICATION, kind, "due_at")
        for o in duties.select_related("breach").order_by("due_at")[:BATCH]:
            found.append(
                Candidate(
                    SlaClock.NOTIFICATION, kind, Team.SECURITY, o.breach.incident_id, o.due_at, obligation_id=o.pk
                )
            )
    return found


def raise_alert(candidate: Candidate) -> SlaAlert | None:
    """Insert the alert (once: the key is unique) and audit it; None if it existed already."""
    with transaction.atomic():
        alert, created = SlaAlert.objects.get_or_create(
            key=candidate.key,
            defaults={
                "clock": candidate.clock,
                "kind": candidate.kind,
                "team": candidate.team,
                "incident_id": candidate.incident_id,
                "escalation_id": candidate.escalation_id,
                "obligation_id": candidate.obligation_id,
                "due_at": candidate.due_at,
            },
        )
        if not created:
            return None
        audit.record(
            AuditAction.SLA_ALERT_RAISED,
            target=alert,
            incident_id=candidate.incident_id,
            clock=candidate.clock,
            kind=candidate.kind,
            team=candidate.team,
            due_at=candidate.due_at.isoformat(),
        )
    return alert


def alert_email(alert: SlaAlert) -> EmailMessage:
    """The team's email: the reference, the clock and the deadline. No customer name, address,
    summary or any free text an agent typed, so no personal data and no card number can be in it."""
    incident = alert.incident
    what = alert.get_clock_display().lower()
    if alert.clock == SlaClock.NOTIFICATION:
        what = f"breach notification: {alert.obligation.rule}"
    verb = "RAN OUT" if alert.kind == AlertKind.BREACHED else "about to run out"
    due = timezone.localtime(alert.due_at)
    subject = f"[Bulwark] SLA {verb}: {incident.reference} {what} ({incident.get_severity_display()})"
    body = (
        f"{Team(alert.team).label},\n\n"
        f"The clock for “{what}” on {incident.reference} "
        f"{'ran out' if alert.kind == AlertKind.BREACHED else 'runs out'} at {due:%Y-%m-%d %H:%M %Z}.\n"
        f"Severity: {incident.get_severity_display()}.\n\n"
        f"Open it: {settings.SITE_URL}{incident.get_absolute_url()}\n\n"
        "This message names no customer on purpose; the incident page has the details.\n"
    )
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[settings.TEAM_MAILBOXES[alert_team(incident, alert.team)]],
        headers={"X-Bulwark-Alert": alert.key},
    )


def send_pending_emails(limit: int = 200) -> int:
    """Email every alert not emailed yet; each under its row lock, so concurrent ticks send once."""
    sent = 0
    pending = SlaAlert.objects.filter(emailed_at__isnull=True, email_attempts__lt=MAX_EMAIL_ATTEMPTS)
    for alert_id in list(pending.order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            alert = (
                SlaAlert.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("incident", "obligation__rule")
                .filter(pk=alert_id, emailed_at__isnull=True)
                .first()
            )
            if alert is None:
                continue  # another tick holds it or sent it
            try:
                alert_email(alert).send()
            except Exception as exc:  # SMTP trouble: the next tick tries again
                alert.email_attempts += 1
                alert.save(update_fields=["email_attempts"])
                logger.warning("SLA alert %s not emailed (attempt %s): %s", alert.key, alert.email_attempts, exc)
                continue
            alert.emailed_at = timezone.now()
            alert.email_attempts += 1
            alert.save(update_fields=["emailed_at", "email_attempts"])
            audit.record(
                AuditAction.SLA_ALERT_EMAILED,
                target=alert,
                incident_id=alert.incident_id,
                team=alert.team,
                mailbox=settings.TEAM_MAILBOXES[alert_team(alert.incident, alert.team)],
            )
            sent += 1
    return sent


def tick(now: datetime | None = None) -> dict:
    """One run of the periodic check: raise what is due, then email what is unsent."""
    now = now or timezone.now()
    raised = [alert for alert in map(raise_alert, due_candidates(now)) if alert is not None]
    return {"raised": len(raised), "emailed": send_pending_emails()}


# --- The banner -----------------------------------------------------------------------------

ROLE_TEAMS = {Role.AGENT: Team.TIER1, Role.TIER2: Team.TIER2, Role.SECURITY: Team.SECURITY}
# Still running, and the alert is about the deadline the clock has now (not one moved since).
STILL_RUNNING = (
    Q(clock=SlaClock.CLAIM, escalation__status=EscalationStatus.OPEN, due_at=F("escalation__claim_due_at"))
    | Q(
        clock=SlaClock.FIRST_UPDATE,
        incident__status=Status.OPEN,
        incident__first_update_at__isnull=True,
        due_at=F("incident__first_update_due_at"),
    )
    | Q(clock=SlaClock.RESOLVE, incident__status=Status.OPEN, due_at=F("incident__resolve_due_at"))
    | Q(clock=SlaClock.NOTIFICATION, obligation__met_at__isnull=True, due_at=F("obligation__due_at"))
)


def banner_alerts(agent) -> QuerySet[SlaAlert]:
    """Alerts of the agent's teams whose clock is still running, on incidents they may see."""
    if agent.has_any_role([Role.SUPERVISOR]):
        teams = list(Team.values)
    else:
        teams = [team for role, team in ROLE_TEAMS.items() if agent.has_any_role([role])]
    # A warning stops showing once its clock ran out: the "ran out" alert takes its place.
    current = Q(kind=AlertKind.BREACHED) | Q(due_at__gt=timezone.now())
    # Every page shows the banner: the visibility rule as a condition on the joined incident (no
    # subquery to plan), and the incident's search vector left in the database.
    return (
        SlaAlert.objects.filter(STILL_RUNNING, current, visibility(agent, through="incident__"), team__in=teams)
        .select_related("incident", "obligation__rule")
        .defer("incident__search_vector")
        .order_by("kind", "due_at")  # "breached" before "warning"
    )
