"""Read queries for the views. Every list here runs a fixed number of queries, whatever its size,
and each page of a list costs the same at any depth (keyset paging on an index, never OFFSET)."""

import ipaddress
import re

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, When, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from accounts.roles import RESTRICTED_ROLES, Role
from core.masking import mask_email, mask_name, mask_reference
from core.paging import PAGE_SIZE, KeysetPage, keyset_page
from notifications.models import CustomerUpdate, UpdateStatus

from . import hooks
from .models import (
    CallerVerification,
    Customer,
    CustomerTwoFactor,
    Escalation,
    EscalationStatus,
    Incident,
    Indicator,
    Note,
    PasswordAdvice,
    Status,
    Team,
    UnauthorizedChange,
    VerificationStatus,
    parse_reference,
)

QUEUE_TEAMS = {
    # team -> roles that may see its queue
    Team.TIER2: {Role.TIER2, Role.SECURITY, Role.SUPERVISOR},
    Team.SECURITY: {Role.SECURITY, Role.SUPERVISOR},
}


def visibility(agent, *, through: str = "") -> Q:
    """The one rule of incident visibility, as a condition on incidents (or, `through="incident__"`,
    on rows that belong to one): agents without a role see nothing; restricted incidents are for
    the security team and supervisors. A plain condition on the joined row, not `incident__in=
    <subquery>`, so a list of escalations or indicators stays one index-backed query."""
    if not agent.roles:
        return Q(pk__in=[])
    if agent.has_any_role(RESTRICTED_ROLES):
        return Q()
    return Q(**{f"{through}restricted": False})


def visible_incidents(agent) -> QuerySet[Incident]:
    # search_vector is only ever read inside the database.
    return Incident.objects.defer("search_vector").filter(visibility(agent))


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
    """Incidents whose reference, customer (name, account reference, email) or summary match.

    PostgreSQL: every word, as a prefix, against the stored tsvector (GIN index); no ranking, so a
    word that matches half the desk costs no more than a rare one: the list is newest first and
    paged by keyset. SQLite: substring match on the same fields.
    """
    text = text.strip()
    if connection.vendor == "postgresql":
        tsquery = prefix_tsquery(text)
        query = Q(search_vector=SearchQuery(tsquery, search_type="raw", config="simple")) if tsquery else Q(pk=None)
    else:
        query = Q(summary__icontains=text) | Q(customer__display_name__icontains=text)
        query |= Q(customer__email__iexact=text) | Q(customer__account_reference__iexact=text)
    pk = parse_reference(text)
    if pk is not None and (text.upper().startswith("INC") or text.isdigit()):
        query |= Q(pk=pk)
    return query


_WORD = re.compile(r"[^\s&|!():*<>'\\]+")


def prefix_tsquery(text: str) -> str:
    """'kari nord' -> "'kari':* & 'nord':*": every word must match the start of a word.

    The words are quoted, so nothing typed is read as tsquery syntax. Hyphens separate words, as
    in the stored vector (see migration 0002); of a hyphenated word only the longer parts are
    searched when it has some ("ACC-7F3A-0012" -> '7f3a' and '0012'): a part like "acc" is in
    every account reference, and reading its whole posting list from the GIN index costs more
    than the rest of the page.
    """
    words = []
    for word in _WORD.findall(text.lower())[:8]:
        parts = [part for part in word.split("-") if part]
        long_parts = [part for part in parts if len(part) > 3]
        words += long_parts or parts
    return " & ".join(f"'{word}':*" for word in words[:8])


def ip_query(text: str) -> Q:
    """One address, or a network like 203.0.113.0/24 (ValueError if neither).

    On PostgreSQL a network of any size is `ip <<= network`, a range scan of the column's B-tree
    index. SQLite stores addresses as text: a network is the set of its addresses, so it is
    limited in size there.
    """
    text = text.strip()
    if "%" in text:  # fe80::1%eth0: a zone names an interface of one machine; databases refuse it
        raise ValueError("An address with a zone (%…) is local to one machine: leave the zone out.")
    if "/" in text:
        network = ipaddress.ip_network(text, strict=False)
        if network.num_addresses == 1:
            return Q(ip=str(network.network_address))
        if connection.vendor == "postgresql":
            return Q(ip__in_network=str(network))
        if network.num_addresses <= 4096:
            return Q(ip__in=[str(address) for address in network])
        raise ValueError("Search networks of up to 4,096 addresses (/20 for IPv4, /116 for IPv6).")
    return Q(ip=str(ipaddress.ip_address(text.strip("[]"))))


# --- The incident list, paged by keyset (core.paging) ---------------------------------------------

# A text search matching at most this many incidents is paged from the list of their ids.
TEXT_CANDIDATES = 500


def incident_list_page(
    agent, *, filters: dict, older: str | None = None, newer: str | None = None, size: int = PAGE_SIZE
) -> KeysetPage:
    """One page of the incident list. Two queries with a text search on PostgreSQL, else one.

    The planner cannot tell a rare word from a common one (words outside its statistics all get
    a default estimate), and its guess decides between walking the newest-first index until a
    page is found (right for a common word, a scan of everything for a rare one) and reading the
    GIN index (right for a rare word). So the ids of the matches are first read unordered and
    bounded: if there are no more than TEXT_CANDIDATES, the page is read among those ids (an
    estimate the planner gets right); otherwise the word is common and walking the newest-first
    index finds a page quickly. Nothing is ranked, so a word that matches half the desk costs no
    more than a rare one.
    """
    incidents = incident_list(agent, filters=filters)
    if filters.get("q") and connection.vendor == "postgresql":
        ids = list(incidents.order_by().values_list("pk", flat=True)[: TEXT_CANDIDATES + 1])
        if len(ids) <= TEXT_CANDIDATES:
            incidents = incidents.filter(pk__in=ids)
    return keyset_page(incidents, older=older, newer=newer, size=size)


def incident_detail(incident: Incident) -> dict:
    """Everything the incident page shows, in a fixed number of queries.

    The records are prefetched onto `incident`, so the playbook's gates (which read them through
    the incident) find them loaded instead of asking the database again.
    """
    prefetch_related_objects(
        [incident],
        Prefetch("changes", queryset=UnauthorizedChange.objects.select_related("recorded_by")),
        Prefetch("indicators", queryset=Indicator.objects.select_related("recorded_by")),
        Prefetch("escalations", queryset=Escalation.objects.select_related("requested_by", "claimed_by")),
        Prefetch("notes", queryset=Note.objects.select_related("author")),
        Prefetch("customer_updates", queryset=CustomerUpdate.objects.select_related("created_by")),
        Prefetch("verifications", queryset=CallerVerification.objects.select_related("requested_by")),
    )
    changes = list(incident.changes.all())
    indicators = list(incident.indicators.all())
    escalations = list(incident.escalations.all())
    notes = list(incident.notes.all())
    updates = list(incident.customer_updates.all())
    verifications = list(incident.verifications.all())
    related = related_incidents_by_ip(incident, indicators)
    return {
        "changes": changes,
        "indicators": indicators,
        "related": {ip: others[:RELATED_SHOWN] for ip, others in related.items()},
        "related_more": {ip for ip, others in related.items() if len(others) > RELATED_SHOWN},
        "escalations": escalations,
        "active_escalation": next((e for e in escalations if e.is_active), None),
        "notes": notes,
        "updates": updates,
        "verifications": verifications,
        "timeline": _timeline(notes, escalations, updates),
    }


RELATED_SHOWN = 5  # other incidents named per address; the IP search lists them all


def related_incidents_by_ip(incident: Incident, indicators: list[Indicator]) -> dict[str, list[Incident]]:
    """ip -> the most recent other incidents where the same address appears (one query).

    At most RELATED_SHOWN per address, and one more read to know whether there are more (then
    the page links to the IP search): attack infrastructure turns up in more incidents every
    month, and the incident page must not grow with it.
    """
    ips = [indicator.ip for indicator in indicators]
    if not ips:
        return {}
    others = (
        _other_sightings(incident, ips)
        .annotate(rank=Window(RowNumber(), partition_by=[F("ip")], order_by=F("incident_id").desc()))
        .filter(rank__lte=RELATED_SHOWN + 1)
        .select_related("incident")
        .defer("incident__search_vector")
        .order_by("ip", "-incident_id")
    )
    related: dict[str, list[Incident]] = {}
    for other in others:
        related.setdefault(other.ip, []).append(other.incident)
    return related


def _other_sightings(incident: Incident, ips: list[str]) -> QuerySet[Indicator]:
    return Indicator.objects.filter(ip__in=ips, incident__restricted=False).exclude(incident=incident)


def incidents_with_ip(agent, ip_text: str) -> QuerySet[Indicator]:
    """Where an address or network was seen, most recently seen first (slice it: the view shows 200).

    Either the address range of the ip index is read and sorted (few matches), or the newest-first
    index is walked until enough match (a network seen everywhere): the planner picks by statistics.
    """
    return (
        Indicator.objects.filter(ip_query(ip_text), visibility(agent, through="incident__"))
        .select_related("incident", "incident__customer")
        .defer("incident__search_vector")
        .order_by("-created_at", "-pk")
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
        CustomerUpdate.objects.filter(visibility(agent, through="incident__"), status=UpdateStatus.FAILED)
        .select_related("incident", "incident__customer")
        .order_by("-updated_at", "-pk")
    )


# --- Campaigns ----------------------------------------------------------------------------------


def sees_restricted(agent) -> bool:
    return agent.has_any_role(RESTRICTED_ROLES)


# --- The hand-off packet ------------------------------------------------------------------------


def handoff_packet(incident: Incident) -> dict:
    """What the receiving team reads first, built from the stored records only (no typing twice).

    A fixed number of queries, whatever the number of changes, indicators, notes or emails.
    """
    incident = Incident.objects.select_related("customer", "opened_by", "assignee").get(pk=incident.pk)
    customer = incident.customer
    changes = list(incident.changes.select_related("recorded_by"))
    indicators = list(incident.indicators.all())
    escalations = list(incident.escalations.select_related("requested_by", "claimed_by").order_by("requested_at"))
    notes = list(incident.notes.select_related("author"))
    updates = list(incident.customer_updates.only("subject", "template", "status", "created_at", "sent_at"))
    verifications = list(incident.verifications.select_related("requested_by"))
    same_ip: dict[str, int] = {}
    same_network: dict[str, int] = {}
    if indicators:
        rows = (
            Indicator.objects.filter(
                Q(ip__in=[i.ip for i in indicators]) | Q(network__in=[i.network for i in indicators if i.network])
            )
            .exclude(incident=incident)
            .values("ip", "network", "incident_id")
            .distinct()
        )
        ips, networks = {i.ip for i in indicators}, {i.network for i in indicators}
        seen_ip, seen_network = set(), set()
        for row in rows[:2000]:
            if row["ip"] in ips and (row["ip"], row["incident_id"]) not in seen_ip:
                seen_ip.add((row["ip"], row["incident_id"]))
                same_ip[row["ip"]] = same_ip.get(row["ip"], 0) + 1
            if row["network"] in networks and (row["network"], row["incident_id"]) not in seen_network:
                seen_network.add((row["network"], row["incident_id"]))
                same_network[row["network"]] = same_network.get(row["network"], 0) + 1
    passed = [v for v in verifications if v.status in ("verified", "overridden")]
    timeline = [{"at": n.created_at, "kind": "note", "item": n} for n in notes]
    timeline += [{"at": u.created_at, "kind": "email", "item": u} for u in updates]
    timeline += [{"at": e.requested_at, "kind": "escalation", "item": e} for e in escalations]
    timeline.sort(key=lambda event: event["at"])
    return {
        "incident": incident,
        "customer": {
            "name": mask_name(customer.display_name),
            "email": mask_email(customer.email),
            "account": mask_reference(customer.account_reference),
            "language": customer.get_language_display(),
        },
        "changes": changes,
        "securing": {
            "password": incident.get_password_advice_display() if incident.password_advice else "",
            "password_at": incident.password_advice_at,
            "two_factor": incident.get_customer_two_factor_display() if incident.customer_two_factor else "",
            "two_factor_at": incident.customer_two_factor_at,
        },
        "indicators": [
            {
                "indicator": i,
                "same_ip": same_ip.get(i.ip, 0),
                "same_network": same_network.get(i.network, 0) - same_ip.get(i.ip, 0),
            }
            for i in indicators
        ],
        "escalations": escalations,
        "active_escalation": next((e for e in reversed(escalations) if e.is_active), None),
        **hooks.page_context(hooks.handoff_packet, incident),
        "verification": passed[0] if passed else None,
        "verification_attempts": len(verifications),
        "timeline": timeline,
    }


# --- The post-incident report -------------------------------------------------------------------

# The steps the report may name, in the order they usually happen (the templates translate each).
REPORT_STEPS = (
    "opened", "verified", "password_changed", "two_factor_enabled", "two_factor_on", "escalated",
    "specialists_done", "resolved",
)  # fmt: skip


def post_incident_report(incident: Incident, *, closing_at=None) -> dict:
    """What the final email and the customer-file page tell the customer: what happened (kinds of
    change only, no descriptions, notes or addresses) and what was done when, read from the
    incident's own records. Only this run of the playbook counts: after a reopen, what was done
    before it is not told again.

    `closing_at` adds the resolution itself when the report is previewed before the incident closes.
    A fixed number of queries.
    """
    run_start = incident.clock_started_at or incident.created_at
    steps: dict[str, object] = {"opened": incident.created_at}

    def since_run(at) -> bool:
        return at is not None and at >= run_start

    verified = (
        incident.verifications.filter(status=VerificationStatus.VERIFIED, verified_at__gte=run_start)
        .order_by("verified_at")
        .values_list("verified_at", flat=True)
        .first()
    )  # a supervisor's override proves nothing to the customer
    if verified:
        steps["verified"] = verified
    if incident.password_advice == PasswordAdvice.DONE and since_run(incident.password_advice_at):
        steps["password_changed"] = incident.password_advice_at
    if since_run(incident.customer_two_factor_at):
        if incident.customer_two_factor == CustomerTwoFactor.ENABLED_NOW:
            steps["two_factor_enabled"] = incident.customer_two_factor_at
        elif incident.customer_two_factor == CustomerTwoFactor.ALREADY_ON:
            steps["two_factor_on"] = incident.customer_two_factor_at
    # "Our security specialists took over" is said of the security team only, not of tier 2.
    security = list(
        incident.escalations.filter(to_team=Team.SECURITY, requested_at__gte=run_start)
        .order_by("requested_at", "pk")
        .only("status", "requested_at", "closed_at")
    )
    if security:
        steps["escalated"] = security[0].requested_at
        done = [e.closed_at for e in security if e.status == EscalationStatus.RESOLVED and e.closed_at]
        if done:
            steps["specialists_done"] = min(done)
    if incident.status == Status.RESOLVED and incident.closed_at:
        steps["resolved"] = incident.closed_at
    elif closing_at:
        steps["resolved"] = closing_at
    kinds = list(dict.fromkeys(incident.changes.order_by("created_at", "pk").values_list("kind", flat=True)))

    def stamp(at) -> str:
        local = timezone.localtime(at)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"

    ordered = sorted(steps.items(), key=lambda item: item[1])
    return {"changed": kinds, "steps": [{"kind": kind, "at": stamp(at)} for kind, at in ordered]}


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
