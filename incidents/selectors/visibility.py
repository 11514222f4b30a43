"""The one rule of incident visibility, and the lookups that apply it."""

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.roles import RESTRICTED_ROLES

from ..models import (
    Incident,
)


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


def sees_restricted(agent) -> bool:
    return agent.has_any_role(RESTRICTED_ROLES)
