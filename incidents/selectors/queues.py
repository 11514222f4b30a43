"""The escalation queues and the clocks at risk (fixed query counts)."""

from django.db.models import Case, Count, F, Q, QuerySet, When
from django.utils import timezone

from accounts.roles import Role

from ..models import (
    Escalation,
    EscalationStatus,
    Incident,
    Team,
)
from .visibility import visibility, visible_incidents

QUEUE_TEAMS = {
    # team -> roles that may see its queue
    Team.TIER2: {Role.TIER2, Role.SECURITY, Role.SUPERVISOR},
    Team.SECURITY: {Role.SECURITY, Role.SUPERVISOR},
}


def open_escalations(team: str, agent) -> QuerySet[Escalation]:
    """The queue of one receiving team as this agent may see it: most severe first, then longest waiting."""
    return (
        Escalation.objects.active()
        .filter(visibility(agent, through="incident__"), to_team=team)
        .select_related("incident", "incident__customer", "requested_by", "claimed_by")
        .defer("incident__search_vector")
        .order_by("-severity", "requested_at")
    )


def queue_sections(team: str, agent, *, shown: int) -> dict:
    """The queue page: the first `shown` waiting and claimed escalations and how many of each (three
    queries). Each section joins only what its rows show: who asked and for which customer while it
    waits, who holds it once claimed."""
    queue = open_escalations(team, agent)
    counts = queue_counts(queue)
    rows = queue.select_related(None).select_related("incident")
    return {
        "waiting": list(
            rows.filter(status=EscalationStatus.OPEN).select_related("incident__customer", "requested_by")[:shown]
        ),
        "claimed": list(rows.filter(status=EscalationStatus.CLAIMED).select_related("claimed_by")[:shown]),
        "waiting_count": counts["waiting"],
        "claimed_count": counts["claimed"],
    }


def queue_counts(queue: QuerySet[Escalation]) -> dict[str, int]:
    """How many wait and how many are claimed, in one query (the page shows the first of each)."""
    return queue.order_by().aggregate(
        waiting=Count("pk", filter=Q(status=EscalationStatus.OPEN)),
        claimed=Count("pk", filter=Q(status=EscalationStatus.CLAIMED)),
    )


def at_risk_incidents(agent, now=None) -> QuerySet[Incident]:
    """Open incidents whose first-update or resolve clock is amber or red, soonest deadline first."""
    now = now or timezone.now()
    running_update = Q(first_update_at__isnull=True, first_update_warn_at__lte=now)
    return (
        visible_incidents(agent)
        .filter(running_update | Q(resolve_warn_at__lte=now), status="open")
        .select_related("customer", "assignee")
        .annotate(
            next_due=Case(
                When(first_update_at__isnull=True, first_update_due_at__isnull=False, then=F("first_update_due_at")),
                default=F("resolve_due_at"),
            )
        )
        .order_by("next_due", "pk")
    )


def at_risk_escalations(agent, now=None) -> QuerySet[Escalation]:
    """Waiting escalations (of queues this agent may see) whose claim clock is amber or red."""
    now = now or timezone.now()
    teams = [team for team, roles in QUEUE_TEAMS.items() if agent.has_any_role(roles)]
    return (
        Escalation.objects.filter(status="open", to_team__in=teams, claim_warn_at__lte=now)
        .filter(incident__in=visible_incidents(agent))
        .select_related("incident")
        .order_by("claim_due_at", "pk")
    )
