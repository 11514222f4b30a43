"""Steps 1 to 3: what was not authorized, securing the account, the investigation (findings,
indicators and their verdicts, where satellites such as campaign detection take part)."""

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from core.redaction import redacted

from .. import hooks, ipextract, playbook
from ..emails import notify_customer
from ..models import (
    CustomerTwoFactor,
    Incident,
    Indicator,
    PasswordAdvice,
    UnauthorizedChange,
    Verdict,
    network_of,
)
from ..playbook import PlaybookError
from ..verification import ensure_caller_verified
from .base import lock, playbook_run, record, save

# --- Step 1: confirm ---------------------------------------------------------------------------


@transaction.atomic
def record_unauthorized_change(
    incident: Incident, *, kind: str, description: str, noticed_at, actor, expected_version: int
) -> UnauthorizedChange:
    incident = lock(incident, expected_version)
    playbook.ensure_open(incident)
    change = UnauthorizedChange.objects.create(
        incident=incident, kind=kind, description=description, noticed_at=noticed_at, recorded_by=actor
    )
    save(incident, actor)
    record(AuditAction.CHANGE_RECORDED, incident, actor, target=change, kind=kind)
    return change


# --- Step 2: secure ----------------------------------------------------------------------------


@transaction.atomic
def record_securing(
    incident: Incident, *, password_advice: str, customer_two_factor: str, actor, expected_version: int
) -> Incident:
    """Record the securing checklist; the customer gets the securing advice by email once."""
    incident = lock(incident, expected_version)
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
    save(incident, actor, *fields)
    record(
        AuditAction.SECURING_RECORDED,
        incident,
        actor,
        password_advice=incident.password_advice,
        customer_two_factor=incident.customer_two_factor,
    )
    notify_customer(
        incident,
        template="securing_advice",
        actor=actor,
        key=f"{incident.pk}:securing_advice:{playbook_run(incident)}",
        # The email asks only for what is still to do, and says what is done already.
        password_done=incident.password_advice == PasswordAdvice.DONE,
        two_factor_on=incident.customer_two_factor in (CustomerTwoFactor.ALREADY_ON, CustomerTwoFactor.ENABLED_NOW),
    )
    return incident


# --- Step 3: investigate -------------------------------------------------------------------------


@transaction.atomic
def record_findings(incident: Incident, *, findings: str, actor, expected_version: int) -> Incident:
    incident = lock(incident, expected_version)
    playbook.ensure_open(incident)
    incident.findings = findings
    save(incident, actor, "findings")
    record(AuditAction.INCIDENT_UPDATED, incident, actor, field="findings")
    return incident


@transaction.atomic
def add_indicators_from_log(incident: Incident, *, log_text: str, actor) -> list[Indicator]:
    """Every IP address in pasted activity-log text becomes an indicator (once per incident)."""
    incident = lock(incident)
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
        record(AuditAction.INDICATOR_RECORDED, incident, actor, target=indicator, ip=address.ip, scope=address.scope)
    save(incident, actor)
    return created


@transaction.atomic
def set_indicator_verdict(indicator: Indicator, *, verdict: str, actor) -> Indicator:
    """Judge one address; the satellites subscribed to `hooks.verdicts` (campaign detection: an
    unauthorized or unknown address is looked for in other customers' incidents) run in this
    transaction."""
    subscribers = list(hooks.verdicts)
    for subscriber in subscribers:
        subscriber.before_lock(verdict)
    incident = lock(indicator.incident)
    playbook.ensure_open(incident)
    if verdict not in Verdict.values or verdict == Verdict.PENDING:
        raise PlaybookError("Choose unauthorized, legitimate or unknown.")
    indicator = Indicator.objects.select_for_update().get(pk=indicator.pk)
    indicator.verdict = verdict
    # What the subscribers write is locked before anything is audited; the saves below are audited.
    prepared = [(subscriber, subscriber.prepare(incident, indicator, verdict)) for subscriber in subscribers]
    indicator.save(update_fields=["verdict"])
    save(incident, actor)
    record(AuditAction.INDICATOR_VERDICT, incident, actor, target=indicator, ip=indicator.ip, verdict=verdict)
    for subscriber, state in prepared:
        subscriber.after(incident, state, actor=actor)
    return indicator


@transaction.atomic
def set_indicator_verdicts(incident: Incident, *, verdicts: dict[int, str], actor) -> list[Indicator]:
    """Judge many addresses of one incident at once (the step-3 table is one form).

    Each changed verdict goes through `set_indicator_verdict` (its audit entry, campaign
    detection), all in one transaction: a refusal saves none of them. Blank and unchanged
    verdicts are skipped; returns the indicators whose verdict changed.
    """
    playbook.ensure_open(lock(incident))
    indicators = {i.pk: i for i in Indicator.objects.filter(incident=incident, pk__in=list(verdicts))}
    if len(indicators) != len(verdicts):
        raise PlaybookError("An address of that list is no longer on this incident: reload the page.")
    changed = []
    for pk, verdict in sorted(verdicts.items()):
        if verdict and verdict != indicators[pk].verdict:
            changed.append(set_indicator_verdict(indicators[pk], verdict=verdict, actor=actor))
    if not changed:
        raise PlaybookError("Nothing changed: choose a verdict for at least one address.")
    return changed
