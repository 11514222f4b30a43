"""Realistic bulk data for demos and benchmarks: `manage.py seed_demo --incidents N`.

Each call adds N incidents (it never changes or removes what is there: the audit trail is
append-only), spread over the last three years: older ones closed (resolved, or not confirmed),
the last few weeks open at every step of the playbook. Customers write in all five languages;
incidents carry unauthorized changes, indicators (addresses drawn from a pool shared across
incidents, as one attacker's infrastructure shows up in many accounts), notes, escalations
(some still waiting or claimed in the queues), customer updates and their audit entries.

Rows go in with bulk_create in batches; the audit entries through `audit.bulk.append_generated`,
which chains them exactly as `audit.services.record()` would, so `verify_audit` accepts the trail.
Not produced: django-auditlog's field-change entries (auditlog sees no bulk writes), and the
customer updates are marked sent without going through the outbox (nothing is emailed).
"""

import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from audit.bulk import GeneratedEntry, append_generated
from audit.models import AuditAction
from notifications.models import CustomerUpdate, UpdateStatus
from notifications.rendering import email_language, render_update

from . import sla
from .ipextract import parse_ip, scope_of
from .models import (
    ChangeKind,
    Channel,
    Customer,
    CustomerTwoFactor,
    Escalation,
    EscalationStatus,
    Incident,
    Indicator,
    Language,
    Note,
    NoteVisibility,
    PasswordAdvice,
    Stage,
    Status,
    Team,
    UnauthorizedChange,
    Verdict,
    format_reference,
    network_of,
)

HISTORY_DAYS = 3 * 365
OPEN_WINDOW_DAYS = 21  # incidents younger than this are still being worked
SEED_AGENT_DOMAIN = "seed.bulwark.test"

NAMES = {
    Language.EN: (["Emma", "Oliver", "Amelia", "Jack", "Isla", "Harry", "Ava", "George"], ["Johnson", "Smith", "Taylor", "Brown", "Wilson", "Evans"]),
    Language.DE: (["Lukas", "Mia", "Leon", "Hannah", "Jonas", "Lea", "Finn", "Jürgen"], ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Größ"]),
    Language.PL: (["Zofia", "Jakub", "Zuzanna", "Kacper", "Łucja", "Szymon", "Maja"], ["Wiśniewska", "Nowak", "Kowalski", "Wójcik", "Kamińska", "Lewandowski"]),
    Language.NB: (["Kari", "Ola", "Ingrid", "Lars", "Sofie", "Håkon", "Nora"], ["Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Bjørnstad"]),
    Language.FA: (["Sara", "Reza", "Maryam", "Ali", "Niloufar", "Dariush", "سارا", "رضا"], ["Ahmadi", "Hosseini", "Karimi", "Rahimi", "احمدی", "کریمی"]),
}  # fmt: skip
SUMMARIES = [
    "Customer sees a payout account they did not add.",
    "Contact email was changed overnight; customer did not do it.",
    "Unknown logins in the activity log from abroad.",
    "Password reset email the customer did not request, then a new device signed in.",
    "Delivery address changed and an order placed that the customer does not recognise.",
    "Two-factor authentication was switched off without the customer's knowledge.",
    "Customer reports payments to an unknown merchant after a phishing SMS.",
    "Phone number on the account replaced; customer lost access to codes.",
    "Recovery questions changed and a session from an unknown browser.",
    "Customer thinks their account was taken over after a data leak elsewhere.",
]
CHANGES = {
    ChangeKind.TRANSACTION: "Payment to an unknown merchant",
    ChangeKind.PROPERTY: "Delivery address replaced",
    ChangeKind.CONTACT: "Contact email changed to an unknown address",
    ChangeKind.ACTIVITY_LOG: "Sign-in from an unknown device",
    ChangeKind.OTHER: "Recovery settings changed",
}
NOTES = [
    "Customer confirmed the sign-in times by phone.",
    "Asked the customer to check other accounts that share the password.",
    "Activity log exported and attached to the case file.",
    "Customer is travelling; legitimate logins from the hotel expected.",
]
OPEN_STAGES = [Stage.CONFIRM, Stage.SECURE, Stage.INVESTIGATE, Stage.ESCALATE, Stage.COMMUNICATE, Stage.POST_INCIDENT]
SEED_AGENTS = [
    # role, how many
    (Role.AGENT, 24),
    (Role.TIER2, 6),
    (Role.SECURITY, 6),
    (Role.SUPERVISOR, 2),
]


@dataclass
class SeedReport:
    customers: int = 0
    incidents: int = 0
    changes: int = 0
    indicators: int = 0
    notes: int = 0
    escalations: int = 0
    updates: int = 0
    audit_entries: int = 0
    seconds: float = 0.0


def seed_agents() -> dict[str, list[User]]:
    """The generated agents (unusable passwords: nobody signs in as them), by role."""
    agents: dict[str, list[User]] = {}
    for role, count in SEED_AGENTS:
        group, _ = Group.objects.get_or_create(name=role)
        for number in range(1, count + 1):
            email = f"{role}{number:02d}@{SEED_AGENT_DOMAIN}"
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, None, full_name=f"{role.title()} {number:02d}")
                user.groups.add(group)
            agents.setdefault(role, []).append(user)
    return agents


class _Mail:
    """Customer emails rendered once per template and language, then filled in per incident."""

    MARKS = {"customer_name": "§NAME§", "reference": "§REF§", "account_reference": "§ACC§"}

    def __init__(self):
        self._cache = {}

    def render(self, template: str, customer: Customer, incident: Incident, **extra) -> tuple[str, str, str, str]:
        language = email_language(template, customer.language)
        key = (template, language)
        if key not in self._cache:
            context = {**self.MARKS, **{name: f"§{name}§" for name in extra}}
            self._cache[key] = render_update(template, language, context)
        values = {
            "§NAME§": customer.display_name,
            "§REF§": incident.reference,
            "§ACC§": customer.account_reference,
            **{f"§{name}§": value for name, value in extra.items()},
        }
        parts = []
        for text in self._cache[key]:
            for mark, value in values.items():
                text = text.replace(mark, value)
            parts.append(text)
        return (language, *parts)


class _IpPool:
    """Attack infrastructure reused across incidents, plus one-off addresses of the customers."""

    def __init__(self, rng: random.Random, shared: int = 3000):
        self.rng = rng
        prefixes = ["185.220.101", "185.220.102", "45.155.205", "193.32.162", "91.240.118", "194.26.29", "2a0b:f4c2:2"]
        self.shared = []
        for _ in range(shared):
            prefix = rng.choice(prefixes)
            if ":" in prefix:
                self.shared.append(f"{prefix}::{rng.randrange(1, 0xFFFF):x}")
            else:
                self.shared.append(f"{prefix}.{rng.randrange(1, 255)}")

    def pick(self) -> str:
        if self.rng.random() < 0.55:
            return self.rng.choice(self.shared)
        rng = self.rng
        return f"{rng.choice([81, 84, 88, 92, 109, 151, 176, 212])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def seed_incidents(
    count: int, *, audit_per_incident: int = 10, batch_size: int = 2000, seed: int | None = None, progress=None
) -> SeedReport:
    """Add `count` incidents with everything around them; see the module docstring."""
    started = time.perf_counter()
    rng = random.Random(seed)
    report = SeedReport()
    agents = seed_agents()
    mail, ips = _Mail(), _IpPool(rng)
    now = timezone.now()
    run = uuid.uuid4().hex[:8]
    # Oldest first, so the audit trail's seq follows time within a run.
    times = sorted(now - timedelta(seconds=rng.uniform(60, HISTORY_DAYS * 86400)) for _ in range(count))
    # Still being worked: the last three weeks, and at least the newest 3% (small runs get every step).
    open_from = min(now - timedelta(days=OPEN_WINDOW_DAYS), times[-max(1, count * 3 // 100)])
    for offset in range(0, count, batch_size):
        with transaction.atomic():
            _seed_batch(
                times[offset : offset + batch_size], offset, run, rng, agents, mail, ips, audit_per_incident, report,
                open_from,
            )  # fmt: skip
        if progress:
            progress(report)
    report.seconds = time.perf_counter() - started
    return report


def _seed_batch(times, offset, run, rng, agents, mail, ips, audit_per_incident, report, open_from) -> None:
    tier1, everyone = agents[Role.AGENT], [a for group in agents.values() for a in group]
    # About one customer in three has more than one incident over the years.
    customers = []
    for index in range(max(1, len(times) * 2 // 3)):
        language = rng.choice(Language.values)
        first, last = NAMES[language]
        name = f"{rng.choice(first)} {rng.choice(last)}"
        number = offset + index
        customers.append(
            Customer(
                display_name=name,
                email=f"c{run}{number}@example.org",
                language=language,
                account_reference=f"ACC-{run.upper()}-{number:07d}",
                created_at=times[0],
            )
        )
    customers = Customer.objects.bulk_create(customers)
    report.customers += len(customers)

    incidents = []
    policies = sla.all_policies()
    for number, at in enumerate(times, start=offset):
        agent = rng.choice(tier1)
        incident = Incident(
            customer=rng.choice(customers),
            channel=rng.choice(Channel.values),
            summary=rng.choice(SUMMARIES),
            severity=rng.choices([1, 2, 3, 4], weights=[3, 5, 3, 1])[0],
            assignee=agent,
            opened_by=agent,
            updated_by=agent,
            created_at=at,
            updated_at=at + timedelta(hours=rng.uniform(0.1, 48)),
            restricted=rng.random() < 0.03,
            password_advice=rng.choice([PasswordAdvice.DONE, PasswordAdvice.DECLINED]),
            customer_two_factor=rng.choice([CustomerTwoFactor.ALREADY_ON, CustomerTwoFactor.ENABLED_NOW]),
        )
        if at < open_from:
            incident.closed_at = incident.updated_at
            if rng.random() < 0.15:
                incident.stage, incident.status = Stage.CLOSED, Status.NOT_CONFIRMED
                incident.not_confirmed_reason = "The customer recognised the activity: a family member's device."
            else:
                incident.stage, incident.status = Stage.CLOSED, Status.RESOLVED
                incident.findings = "Sign-ins from a known proxy network; password reuse from a public leak."
                incident.resolution_summary = "Unauthorized access stopped; changes reverted."
                incident.measures_taken = "Sessions ended, password reset, contact details restored."
                incident.advice_given = "Use a unique password and keep two-factor authentication on."
        else:
            incident.stage = OPEN_STAGES[number % len(OPEN_STAGES)]
            if incident.stage == Stage.CONFIRM:
                incident.password_advice = incident.customer_two_factor = ""
        if incident.stage != Stage.CONFIRM:
            incident.team = rng.choices([Team.TIER1, Team.TIER2, Team.SECURITY], weights=[7, 2, 1])[0]
        # The times of the steps, drawn here so that the clock and step columns are in the insert.
        incident.seed_step = step = timedelta(minutes=rng.uniform(2, 30))
        if incident.status == Status.RESOLVED or incident.stage not in (Stage.CONFIRM, Stage.SECURE, Stage.CLOSED):
            incident.secured_at = at + 1.5 * step
        if incident.team != Team.TIER1:
            incident.escalated_at = at + 4 * step
        if incident.status == Status.RESOLVED:
            incident.first_update_at = incident.closed_at  # the resolution email
        sla.apply_due_times(incident, policies=policies)
        incidents.append(incident)
    incidents = Incident.objects.bulk_create(incidents)
    report.incidents += len(incidents)

    changes, indicators, notes, escalations, updates, entries = [], [], [], [], [], []
    for incident in incidents:
        customer, at = incident.customer, incident.created_at
        actor = incident.opened_by
        step = incident.seed_step
        events = [
            _entry(
                AuditAction.INCIDENT_OPENED, incident, actor, at, channel=incident.channel, severity=incident.severity
            )
        ]

        language, subject, text, html = mail.render("acknowledgement", customer, incident)
        updates.append(_update(incident, "acknowledgement", language, subject, text, html, actor, at))
        events.append(
            _entry(AuditAction.EMAIL_QUEUED, incident, actor, at, template="acknowledgement", language=language)
        )
        events.append(
            _entry(AuditAction.EMAIL_SENT, incident, None, at + timedelta(seconds=3), template="acknowledgement")
        )

        if incident.status != Status.NOT_CONFIRMED and (incident.stage != Stage.CONFIRM or rng.random() < 0.5):
            for kind in rng.sample(ChangeKind.values, rng.choice([1, 1, 2])):
                changes.append(
                    UnauthorizedChange(
                        incident=incident, kind=kind, description=CHANGES[kind], recorded_by=actor, created_at=at + step
                    )
                )
                events.append(_entry(AuditAction.CHANGE_RECORDED, incident, actor, at + step, kind=kind))
        seen = set()
        for _ in range(rng.choice([0, 1, 2, 2, 3])):
            ip = ips.pick()
            if ip in seen:
                continue
            seen.add(ip)
            verdict = (
                rng.choice([Verdict.UNAUTHORIZED, Verdict.LEGITIMATE, Verdict.UNKNOWN])
                if incident.status != Status.OPEN or rng.random() < 0.6
                else Verdict.PENDING
            )
            indicators.append(
                Indicator(
                    incident=incident,
                    ip=ip,
                    network=network_of(ip),
                    scope=scope_of(parse_ip(ip)),
                    verdict=verdict,
                    context=f"login ok ip={ip}",
                    recorded_by=actor,
                    created_at=at + 2 * step,
                )
            )
            events.append(_entry(AuditAction.INDICATOR_RECORDED, incident, actor, at + 2 * step, ip=ip))
        for index in range(rng.choice([0, 0, 1, 1, 2])):
            body = rng.choice(NOTES)
            notes.append(
                Note(
                    incident=incident,
                    author=actor,
                    visibility=NoteVisibility.INTERNAL,
                    body=body,
                    created_at=at + (3 + index) * step,
                )
            )
            events.append(
                _entry(AuditAction.NOTE_ADDED, incident, actor, at + (3 + index) * step, visibility="internal")
            )
        if incident.team != Team.TIER1:
            escalation = _escalation(incident, rng, agents, incident.escalated_at)
            sla.apply_claim_due_times(escalation, policies)
            escalations.append(escalation)
            events.append(
                _entry(AuditAction.ESCALATED, incident, actor, escalation.requested_at, to_team=escalation.to_team)
            )
        if incident.status == Status.RESOLVED:
            extra = {
                "resolution_summary": incident.resolution_summary,
                "measures_taken": incident.measures_taken,
                "advice_given": incident.advice_given,
            }
            language, subject, text, html = mail.render("resolution", customer, incident, **extra)
            updates.append(_update(incident, "resolution", language, subject, text, html, actor, incident.closed_at))
            events.append(_entry(AuditAction.INCIDENT_CLOSED, incident, actor, incident.closed_at, outcome="resolved"))
        elif incident.status == Status.NOT_CONFIRMED:
            events.append(
                _entry(AuditAction.INCIDENT_CLOSED, incident, actor, incident.closed_at, outcome="not_confirmed")
            )
        # Agents open the incident page again and again: views fill the trail up to its share.
        viewers = everyone if incident.restricted is False else agents[Role.SECURITY]
        while len(events) < audit_per_incident:
            viewed_at = at + timedelta(minutes=rng.uniform(1, 60 * 24 * 3))
            events.append(
                _entry(AuditAction.INCIDENT_VIEWED, incident, rng.choice(viewers), viewed_at, page="incident")
            )
        entries += events

    for model, rows in (
        (UnauthorizedChange, changes),
        (Indicator, indicators),
        (Note, notes),
        (Escalation, escalations),
        (CustomerUpdate, updates),
    ):
        model.objects.bulk_create(rows, batch_size=2000)
    report.changes += len(changes)
    report.indicators += len(indicators)
    report.notes += len(notes)
    report.escalations += len(escalations)
    report.updates += len(updates)
    entries.sort(key=lambda entry: entry.created_at)
    append_generated(entries)
    report.audit_entries += len(entries)


def _entry(action, incident, actor, at, **data) -> GeneratedEntry:
    return GeneratedEntry(
        created_at=at,
        action=action,
        actor_id=actor.pk if actor else None,
        actor_label=actor.email if actor else "",
        target_type="incidents.incident",
        target_id=str(incident.pk),
        incident_id=incident.pk,
        customer_id=incident.customer_id,
        ip_address="10.20.0.15" if actor else None,
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0" if actor else "",
        request_id=uuid.uuid4().hex if actor else "",
        data=data,
    )


def _update(incident, template, language, subject, text, html, actor, at) -> CustomerUpdate:
    return CustomerUpdate(
        incident=incident,
        template=template,
        language=language,
        recipient=incident.customer.email,
        subject=subject,
        body_text=text,
        body_html=html,
        context={"reference": format_reference(incident.pk)},
        status=UpdateStatus.SENT,
        attempts=1,
        message_id=f"<{uuid.uuid4().hex}@bulwark.localhost>",
        idempotency_key=f"{incident.pk}:{template}",
        created_by=actor,
        created_at=at,
        updated_at=at,
        sent_at=at + timedelta(seconds=3),
    )


def _escalation(incident, rng, agents, at) -> Escalation:
    to_team = incident.team
    claimers = agents[Role.SECURITY] if to_team == Team.SECURITY else agents[Role.TIER2]
    escalation = Escalation(
        incident=incident,
        from_team=Team.TIER1,
        to_team=to_team,
        severity=max(incident.severity, 3) if to_team == Team.SECURITY else incident.severity,
        reason="Signs of an account takeover beyond what tier 1 can judge.",
        requested_by=incident.opened_by,
        requested_at=at,
    )
    if incident.status != Status.OPEN:
        escalation.status = rng.choice(
            [EscalationStatus.RESOLVED, EscalationStatus.RESOLVED, EscalationStatus.RETURNED]
        )
        escalation.claimed_by, escalation.claimed_at = rng.choice(claimers), at + timedelta(minutes=20)
        escalation.closed_at = at + timedelta(hours=5)
        escalation.outcome = "Attacker sessions ended; indicators blocked at the edge."
    elif rng.random() < 0.5:
        escalation.status = EscalationStatus.OPEN
    else:
        escalation.status = EscalationStatus.CLAIMED
        escalation.claimed_by, escalation.claimed_at = rng.choice(claimers), at + timedelta(minutes=20)
    return escalation


def seed_views(count: int, *, batch_size: int = 20000, seed: int | None = None) -> int:
    """Append `count` "incident viewed" entries for existing incidents (to top the trail up)."""
    rng = random.Random(seed)
    viewers = [a for group in seed_agents().values() for a in group]
    top = Incident.objects.order_by("-pk").values_list("pk", flat=True).first()
    if top is None:
        raise ValueError("No incidents to view: seed some first.")
    customers = dict(Incident.objects.filter(pk__gte=max(1, top - 50_000)).values_list("pk", "customer_id"))
    ids = list(customers)
    now = timezone.now()
    added = 0
    while added < count:
        entries = []
        for _ in range(min(batch_size, count - added)):
            pk = rng.choice(ids)
            entry = _entry(
                AuditAction.INCIDENT_VIEWED,
                Incident(pk=pk, customer_id=customers[pk]),
                rng.choice(viewers),
                now,
                page="incident",
            )
            entries.append(entry)
        append_generated(entries)
        added += len(entries)
    return added
