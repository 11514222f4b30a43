"""Read queries for the views. Every list here runs a fixed number of queries, whatever its size,
and each page of a list costs the same at any depth (keyset paging on an index, never OFFSET).
Split by what is read; every selector is re-exported here (`selectors.incident_list(...)`)."""

from .customers import (
    CUSTOMER_INCIDENTS_SHOWN,
    customer_directory,
    customer_incidents,
    open_incidents_of,
    reply_snippets,
)
from .detail import (
    RELATED_SHOWN,
    REPORT_STEPS,
    failed_updates,
    handoff_packet,
    incident_detail,
    incident_history,
    post_incident_report,
    related_incidents_by_ip,
)
from .queues import QUEUE_TEAMS, at_risk_escalations, at_risk_incidents, open_escalations, queue_counts, queue_sections
from .search import (
    TEXT_CANDIDATES,
    find_customers,
    incident_list,
    incident_list_page,
    incidents_with_ip,
    ip_query,
    prefix_tsquery,
    text_query,
)
from .visibility import incident_for_agent, sees_restricted, visibility, visible_incidents

__all__ = [
    "CUSTOMER_INCIDENTS_SHOWN",
    "QUEUE_TEAMS",
    "RELATED_SHOWN",
    "REPORT_STEPS",
    "TEXT_CANDIDATES",
    "at_risk_escalations",
    "at_risk_incidents",
    "customer_directory",
    "customer_incidents",
    "failed_updates",
    "find_customers",
    "handoff_packet",
    "incident_detail",
    "incident_for_agent",
    "incident_history",
    "incident_list",
    "incident_list_page",
    "incidents_with_ip",
    "ip_query",
    "open_escalations",
    "open_incidents_of",
    "post_incident_report",
    "prefix_tsquery",
    "queue_counts",
    "queue_sections",
    "related_incidents_by_ip",
    "reply_snippets",
    "sees_restricted",
    "text_query",
    "visibility",
    "visible_incidents",
]
