"""Read queries for the views. Every list here runs a fixed number of queries, whatever its size."""

import ipaddress

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.roles import Role

from .models import (
    Customer,
    CustomerUpdate,
    Escalation,
    Incident,
    Indicator,
    Team,
    UpdateStatus,
    parse_reference,
)

QUEUE_TEAMS = {
    # team -> roles that may see its queue
    Team.TIER2: {Role.TIER2, Role.SECURITY, Role.SUPERVISOR},
    Team.SECURITY: {Role.SECURITY, Role.SUPERVISOR},
}


def visible_incidents(agent) -> QuerySet[Incident]:
    """The one rule of incident visibility: agents without a role see nothing; restricted incidents
    are for the security team and supervisors."""
    if not agent.roles:
        return Incident.objects.none()
    incidents = Incident.objects.all()
    if not agent.has_any_role([Role.SECURITY, Role.SUPERVISOR]):
        incidents = incidents.filter(restricted=False)
    return incidents


def incident_for_agent(pk: int, agent) -> Incident:
    """The incident with what its page shows; 404 if this agent may not see it."""
    try:
        return visible_incidents(agent).select_related("customer", "assignee", "opened_by", "updated_by").get(pk=pk)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident, or you may not see it.") from exc


def incident_list(agent, *, filters: dict) -> QuerySet[Incident]:
    incidents = visible_incidents(agent).select_related("customer", "assignee")
    for field in ("stage", "status", "severity", "team"):
        if filters.get(field):
            incidents = incidents.filter(**{field: filters[field]})
    if filters.get("assignee"):
        incidents = incidents.filter(assignee=filters["assignee"])
    if filters.get("mine"):
        incidents = incidents.filter(assignee=agent)
    if filters.get("q"):
        incidents = incidents.filter(text_query(filters["q"]))
    if filters.get("ip"):
        incidents = incidents.filter(pk__in=Indicator.objects.filter(ip_query(filters["ip"])).values("incident_id"))
    return incidents.order_by("-created_at", "-pk")


def text_query(text: str) -> Q:
    text = text.strip()
    query = Q(summary__icontains=text) | Q(customer__display_name__icontains=text)
    query |= Q(customer__email__iexact=text) | Q(customer__account_reference__iexact=text)
    pk = parse_reference(text)
    if pk is not None and (text.upper().startswith("INC") or text.isdigit()):
        query |= Q(pk=pk)
    return query


def ip_query(text: str) -> Q:
    """One address, or a network like 203.0.113.0/24 (ValueError if neither)."""
    text = text.strip()
    if "/" in text:
        network = ipaddress.ip_network(text, strict=False)
        if network.num_addresses == 1:
            return Q(ip=str(network.network_address))
        # Addresses are stored normalised, so a network is a set of exact values only when
        # small; larger ones compare as a range of their textual prefixes on the indexed column.
        if network.num_addresses <= 4096:
            return Q(ip__in=[str(address) for address in network])
        raise ValueError("Search networks of up to 4,096 addresses (/20 for IPv4, /116 for IPv6).")
    return Q(ip=str(ipaddress.ip_address(text.strip("[]"))))


def incident_detail(incident: Incident) -> dict:
    """Everything the incident page shows, in a fixed number of queries."""
    changes = list(incident.changes.select_related("recorded_by"))
    indicators = list(incident.indicators.select_related("recorded_by"))
    escalations = list(incident.escalations.select_related("requested_by", "claimed_by"))
    notes = list(incident.notes.select_related("author"))
    updates = list(incident.customer_updates.all())
    verifications = list(incident.verifications.select_related("requested_by"))
    return {
        "changes": changes,
        "indicators": indicators,
        "related": related_incidents_by_ip(incident, indicators),
        "escalations": escalations,
        "active_escalation": next((e for e in escalations if e.is_active), None),
        "notes": notes,
        "updates": updates,
        "verifications": verifications,
        "timeline": _timeline(notes, escalations, updates),
    }


def related_incidents_by_ip(incident: Incident, indicators: list[Indicator]) -> dict[str, list[Incident]]:
    """ip -> other incidents where the same address appears (one query)."""
    ips = [indicator.ip for indicator in indicators]
    if not ips:
        return {}
    others = (
        Indicator.objects.filter(ip__in=ips)
        .exclude(incident=incident)
        .filter(incident__restricted=False)
        .select_related("incident")
        .order_by("incident_id")
    )
    related: dict[str, list[Incident]] = {}
    for other in others[:500]:
        related.setdefault(other.ip, []).append(other.incident)
    return related


def incidents_with_ip(agent, ip_text: str) -> QuerySet[Indicator]:
    return (
        Indicator.objects.filter(ip_query(ip_text), incident__in=visible_incidents(agent))
        .select_related("incident", "incident__customer")
        .order_by("-incident__created_at")
    )


def _timeline(notes, escalations, updates) -> list[dict]:
    events = [{"at": n.created_at, "kind": "note", "item": n} for n in notes]
    events += [{"at": e.requested_at, "kind": "escalation", "item": e} for e in escalations]
    events += [{"at": u.created_at, "kind": "email", "item": u} for u in updates]
    return sorted(events, key=lambda event: event["at"], reverse=True)


def incident_history(incident: Incident, limit: int = 500) -> list[dict]:
    """The history tab: the incident's audit entries merged with its notes, newest first."""
    from audit.selectors import entries_for_incident

    entries = list(entries_for_incident(incident.pk).select_related("actor").order_by("-seq")[:limit])
    notes = list(incident.notes.select_related("author").order_by("-created_at")[:limit])
    events = [{"at": e.created_at, "kind": "audit", "item": e} for e in entries]
    events += [{"at": n.created_at, "kind": "note", "item": n} for n in notes]
    return sorted(events, key=lambda event: event["at"], reverse=True)


def open_escalations(team: str, agent) -> QuerySet[Escalation]:
    """The queue of one receiving team as this agent may see it: most severe first, then longest waiting."""
    return (
        Escalation.objects.active()
        .filter(to_team=team, incident__in=visible_incidents(agent))
        .select_related("incident", "incident__customer", "requested_by", "claimed_by")
        .order_by("-severity", "requested_at")
    )


def find_customers(query: str) -> QuerySet[Customer]:
    """Stage 1 of caller verification: by email of record or account reference."""
    query = query.strip()
    if not query:
        return Customer.objects.none()
    return Customer.objects.filter(Q(email__iexact=query) | Q(account_reference__iexact=query)).annotate(
        open_incidents=Count("incidents", filter=Q(incidents__status="open"))
    )


def failed_updates(agent) -> QuerySet[CustomerUpdate]:
    """Customer emails that gave up, on incidents this agent may see: newest first."""
    return (
        CustomerUpdate.objects.filter(status=UpdateStatus.FAILED, incident__in=visible_incidents(agent))
        .select_related("incident", "incident__customer")
        .order_by("-updated_at", "-pk")
    )


def at_risk_incidents(agent, now=None) -> QuerySet[Incident]:
    """Open incidents whose first-update or resolve clock is amber or red, soonest deadline first."""
    from django.db.models import Case, F, When
    from django.utils import timezone

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
    from django.utils import timezone

    now = now or timezone.now()
    teams = [team for team, roles in QUEUE_TEAMS.items() if agent.has_any_role(roles)]
    return (
        Escalation.objects.filter(status="open", to_team__in=teams, claim_warn_at__lte=now)
        .filter(incident__in=visible_incidents(agent))
        .select_related("incident")
        .order_by("claim_due_at", "pk")
    )
