"""One incident's pages: the detail, its history, its related incidents by address, the failed
emails, the hand-off packet and the post-incident report (fixed query counts)."""

from django.db.models import F, Prefetch, Q, QuerySet, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.selectors import entries_for_incident
from core.masking import mask_email, mask_name, mask_reference
from notifications.models import CustomerUpdate, UpdateStatus

from .. import hooks
from ..models import (
    CallerVerification,
    ChangeKind,
    CustomerTwoFactor,
    Escalation,
    EscalationStatus,
    Incident,
    Indicator,
    Note,
    PasswordAdvice,
    Severity,
    Stage,
    Status,
    Team,
    UnauthorizedChange,
    Verdict,
    VerificationStatus,
)
from .visibility import visibility


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
        "timeline": _timeline(incident, notes),
        "timeline_shown": TIMELINE_SHOWN,
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


TIMELINE_SHOWN = 40  # the newest actions; the history tab has them all
# Not actions on the incident: the read-access log, django-auditlog's field digests, and the
# outbox's delivery reports (the "Customer updates" panel shows each email's status).
TIMELINE_LEAVES_OUT = ("incident.viewed", "model.changed", "email.sent")
_EMAILS = {
    "acknowledgement": _("acknowledgement"),
    "verification_code": _("one-time code"),
    "securing_advice": _("securing advice"),
    "escalated": _("specialists are on it"),
    "progress": _("progress update"),
    "message": _("message"),
    "resolution": _("post-incident report"),
}
# The details an entry's data may carry: (key, how the timeline names it, its values in words).
_DETAILS = (
    ("kind", _("what"), dict(ChangeKind.choices)),
    ("ip", _("address"), {}),
    ("verdict", _("verdict"), dict(Verdict.choices)),
    ("from_stage", _("from"), dict(Stage.choices)),
    ("to_stage", _("to"), dict(Stage.choices)),
    ("to_team", _("to"), dict(Team.choices)),
    ("severity", _("severity"), dict(Severity.choices)),
    ("template", _("email"), _EMAILS),
    ("password_advice", _("password"), dict(PasswordAdvice.choices)),
    ("customer_two_factor", _("two-factor"), dict(CustomerTwoFactor.choices)),
    ("field", _("field"), {}),
    ("outcome", _("outcome"), {}),
)


def _timeline(incident: Incident, notes) -> list[dict]:
    """Every agent action of the incident, newest first, from the audit trail (one query): who,
    what, the details that say which, in words; a note's entry carries the note itself."""
    entries = (
        entries_for_incident(incident.pk)
        .exclude(action__in=TIMELINE_LEAVES_OUT)
        .select_related("actor")
        .order_by("-seq")[:TIMELINE_SHOWN]
    )
    by_note = {str(note.pk): note for note in notes}
    events = []
    for entry in entries:
        data = entry.data or {}
        details = [
            (label, words.get(data[key], data[key]))
            for key, label, words in _DETAILS
            if data.get(key) not in (None, "")
        ]
        note = by_note.get(entry.target_id) if entry.action == "incident.note_added" else None
        events.append({"at": entry.created_at, "entry": entry, "details": details, "note": note})
    return events


def incident_history(incident: Incident, limit: int = 500) -> list[dict]:
    """The history tab: the incident's audit entries merged with its notes, newest first."""
    entries = list(entries_for_incident(incident.pk).select_related("actor").order_by("-seq")[:limit])
    notes = list(incident.notes.select_related("author").order_by("-created_at")[:limit])
    events = [{"at": e.created_at, "kind": "audit", "item": e} for e in entries]
    events += [{"at": n.created_at, "kind": "note", "item": n} for n in notes]
    return sorted(events, key=lambda event: event["at"], reverse=True)


def failed_updates(agent) -> QuerySet[CustomerUpdate]:
    """Customer emails that gave up, on incidents this agent may see: newest first."""
    return (
        CustomerUpdate.objects.filter(visibility(agent, through="incident__"), status=UpdateStatus.FAILED)
        .select_related("incident", "incident__customer")
        .order_by("-updated_at", "-pk")
    )


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

    zone = incident.customer.zone  # the customer's time zone, not the desk's

    def stamp(at) -> str:
        local = timezone.localtime(at, zone)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"

    ordered = sorted(steps.items(), key=lambda item: item[1])
    return {"changed": kinds, "steps": [{"kind": kind, "at": stamp(at)} for kind, at in ordered]}
