"""Every state-changing use case of an incident: one function each, transactional, audited.

Views, commands, tasks and the satellite apps call these; none of them sets `stage` or `status`
itself, and nothing else writes an Incident. Split by sub-domain; every public service is
re-exported here, so callers write `services.open_incident(...)`.
"""

from ..customers import change_customer
from .base import EscalationTaken, StaleIncident
from .communication import add_note, retry_customer_update, send_progress_update
from .customers import create_customer, record_customer_view
from .escalations import (
    change_severity,
    claim_escalation,
    decide_no_escalation,
    escalate,
    escalate_for_campaign,
    raise_severity,
    resolve_escalation,
    return_escalation,
    set_restricted,
)
from .lifecycle import (
    advance,
    close_not_confirmed,
    flag_personal_data_breach,
    open_incident,
    record_view,
    reopen_incident,
    resolve_incident,
)
from .steps import (
    add_indicators_from_log,
    record_findings,
    record_securing,
    record_unauthorized_change,
    set_indicator_verdict,
    set_indicator_verdicts,
)

__all__ = [
    "EscalationTaken",
    "StaleIncident",
    "add_indicators_from_log",
    "add_note",
    "advance",
    "change_customer",
    "change_severity",
    "claim_escalation",
    "close_not_confirmed",
    "create_customer",
    "decide_no_escalation",
    "escalate",
    "escalate_for_campaign",
    "flag_personal_data_breach",
    "open_incident",
    "raise_severity",
    "record_customer_view",
    "record_findings",
    "record_securing",
    "record_unauthorized_change",
    "record_view",
    "reopen_incident",
    "resolve_escalation",
    "resolve_incident",
    "retry_customer_update",
    "return_escalation",
    "send_progress_update",
    "set_indicator_verdict",
    "set_indicator_verdicts",
    "set_restricted",
]
