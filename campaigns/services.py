"""Campaign detection: the same attacker IP or network across several customers' incidents.

A tier-1 agent sees one customer; the desk sees all of them. When an indicator is judged
unauthorized (or unknown), `detect()` looks for the same address, or the same /24 (IPv4) or
/48 (IPv6) network, among other customers' incidents in the last CAMPAIGN_WINDOW_DAYS days.
A hit links the incidents into one campaign, raises each open one to at least high severity and
escalates it to the security team: once per incident and campaign, recorded on its membership.

What never triggers: an indicator judged legitimate (or still pending), a private, loopback or
otherwise non-routable address, and anything on the desk-wide allow list (AllowedNetwork, kept
by supervisors in the admin), such as a customer's office network or our own VPN.

The state-changing functions here are services (transactional, audited); views call them.
Detection runs inside the kernel's verdict service through `incidents.hooks.verdicts`, to which
`detection` is subscribed (apps.py).
"""

import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.roles import CAMPAIGN_ROLES
from audit import services as audit
from audit.models import AuditAction
from incidents import services as incidents
from incidents.models import Incident, Indicator, Severity, Status
from incidents.playbook import PlaybookError

from .models import AllowedNetwork, Campaign, CampaignMember, CampaignStatus
from .triggers import TRIGGER_SCOPES, TRIGGER_VERDICTS, can_trigger, is_allowed, window

logger = logging.getLogger(__name__)

CAMPAIGN_SEVERITY = Severity.HIGH
# Names the advisory lock campaign detection takes on PostgreSQL: "CMPG", distinct from the audit
# chain's "BULW" (audit.chain), which is held from a transaction's first audit entry to its commit.
_DETECTION_LOCK = 0x434D_5047


def serialize_detection() -> None:
    """One detection at a time, desk-wide, until the surrounding transaction ends.

    Detection reads other customers' incidents and then writes to them (membership, severity,
    escalation); two agents saving verdicts on two incidents at the same moment must not both
    create a campaign or both escalate a third incident. Services call this *before* locking
    their own incident row, so a detection never waits for this lock while holding a row
    another detection needs. SQLite serializes writers by itself.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DETECTION_LOCK])


def allow_list() -> list:
    networks = []
    for text in AllowedNetwork.objects.values_list("network", flat=True):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:  # rows are validated on save; a hand-edited bad one must not stop detection
            logger.warning("allow-list entry %r is not a network; ignored", text)
    return networks


@dataclass(frozen=True)
class Hit:
    own: Indicator
    other: Indicator

    @property
    def same_ip(self) -> bool:
        return self.own.ip == self.other.ip

    def describe(self, where: Incident, *, reader: Incident) -> str:
        """Why `reader` is linked to `where`. A restricted incident is not named in the reason of an
        unrestricted one: tier 1 reads that reason on its incident and escalation."""
        hidden = where.restricted and not reader.restricted
        name = "a restricted incident" if hidden else where.reference
        mine, theirs = (self.own, self.other) if reader.pk == self.own.incident_id else (self.other, self.own)
        if self.same_ip:
            return f"same IP {mine.ip} in {name}"
        if hidden:  # nothing of the restricted incident's own: not even its address
            return f"same network {mine.network} ({mine.ip}) in {name}"
        return f"same network {mine.network} ({mine.ip} / {theirs.ip}) in {name}"


def find_hits(incident: Incident, indicators: list[Indicator] | None = None) -> list[Hit]:
    """Other customers' indicators that share an address or network with this incident's (one query)."""
    allowed = allow_list()
    own = [i for i in (indicators if indicators is not None else incident.indicators.all()) if can_trigger(i, allowed)]
    if not own:
        return []
    others = (
        Indicator.objects.filter(
            Q(ip__in={i.ip for i in own}) | Q(network__in={i.network for i in own if i.network}),
            verdict__in=TRIGGER_VERDICTS,
            scope__in=TRIGGER_SCOPES,
            created_at__gte=timezone.now() - window(),
        )
        .exclude(incident__customer_id=incident.customer_id)
        .select_related("incident")
        .order_by("incident_id", "pk")
    )
    by_ip = {i.ip: i for i in own}
    by_network = {i.network: i for i in own if i.network}
    hits = []
    for other in others[:500]:
        if is_allowed(other.ip, allowed):
            continue
        mine = by_ip.get(other.ip) or by_network.get(other.network)
        if mine is not None:
            hits.append(Hit(own=mine, other=other))
    return hits


def prepare(incident: Incident, indicators: list[Indicator] | None = None) -> list[Hit]:
    """Find the hits and lock every incident detection may then write to, in primary-key order.

    Called before the service writes its first audit entry, a tracked model's save included (its
    field change is chained, see audit.registry): appending to the audit chain holds a desk-wide
    lock until commit, and a service elsewhere may hold one of these incident rows while it waits
    for that lock. Taking the rows first means detection never waits for a row while holding the
    chain, so the two cannot deadlock. `indicators`: the incident's own, as they are about to be saved.
    """
    hits = find_hits(incident, indicators)
    if hits:
        linked = {incident.pk, *(hit.other.incident_id for hit in hits)}
        in_campaigns = CampaignMember.objects.filter(incident_id__in=linked).values("campaign_id")
        members = CampaignMember.objects.filter(campaign_id__in=in_campaigns).values_list("incident_id", flat=True)
        lock_incidents(linked | set(members))
    return hits


def lock_incidents(pks) -> None:
    list(Incident.objects.select_for_update().filter(pk__in=pks).order_by("pk").values_list("pk", flat=True))


def detect(incident: Incident, *, actor, hits: list[Hit]) -> Campaign | None:
    """Link this incident with other customers' incidents sharing an attacker IP or network.

    Runs inside the calling service's transaction, after serialize_detection() and prepare(). The
    incident joins the oldest campaign any of the linked incidents is already in (or a new one);
    linked incidents that are in no campaign join it too. Incidents already in another campaign
    stay there: the security team merges campaigns.
    """
    if not hits:
        return None
    linked: dict[int, Incident] = {incident.pk: incident}
    for hit in hits:
        linked.setdefault(hit.other.incident_id, hit.other.incident)
    memberships = {
        m.incident_id: m for m in CampaignMember.objects.select_related("campaign").filter(incident_id__in=list(linked))
    }
    campaign = min((m.campaign for m in memberships.values()), key=lambda c: c.pk, default=None)
    if campaign is None:
        campaign = Campaign.objects.create(created_by=actor)
        audit.record(
            AuditAction.CAMPAIGN_DETECTED,
            actor=actor,
            target=campaign,
            incident_id=incident.pk,
            customer_id=incident.customer_id,
            incidents=sorted(linked),
        )
    reasons: dict[int, list[str]] = {}
    for hit in hits:
        other = hit.other.incident
        reasons.setdefault(incident.pk, []).append(hit.describe(other, reader=incident))
        reasons.setdefault(other.pk, []).append(hit.describe(incident, reader=other))
    matched = {incident.pk: hits[0].own.ip, **{hit.other.incident_id: hit.other.ip for hit in hits}}
    for pk, member_incident in linked.items():
        if pk in memberships:
            continue
        reason = "; ".join(dict.fromkeys(reasons[pk]))[:500]
        CampaignMember.objects.create(campaign=campaign, incident_id=pk, reason=reason, matched_ip=matched[pk])
        audit.record(
            AuditAction.CAMPAIGN_LINKED,
            actor=actor,
            target=campaign,
            incident_id=pk,
            customer_id=member_incident.customer_id,
            campaign=campaign.reference,
            reason=reason,
        )
    if campaign.is_live:
        escalate_members(campaign, actor=actor)
    return campaign


class Detection:
    """Campaign detection as the kernel's verdict service calls it (incidents.hooks.VerdictSubscriber)."""

    def before_lock(self, verdict: str) -> None:
        if verdict in TRIGGER_VERDICTS:
            serialize_detection()  # before the service's own row lock: see its docstring

    def prepare(self, incident: Incident, indicator: Indicator, verdict: str) -> list[Hit]:
        if verdict not in TRIGGER_VERDICTS:
            return []
        own = [indicator if other.pk == indicator.pk else other for other in incident.indicators.all()]
        return prepare(incident, own)

    def after(self, incident: Incident, prepared: list[Hit], *, actor) -> None:
        if prepared:
            detect(incident, actor=actor, hits=prepared)


detection = Detection()


def escalation_reason(campaign: Campaign, member: CampaignMember, others: int) -> str:
    seen = "1 other customer's incident" if others == 1 else f"{others} other customers' incidents"
    return (
        f"Campaign {campaign.reference}: {member.reason}. Seen in {seen} "
        f"within {settings.CAMPAIGN_WINDOW_DAYS} days; escalated automatically."
    )


def escalate_members(campaign: Campaign, *, actor) -> int:
    """Escalate every open member not yet escalated for this campaign; returns how many were.

    The membership row holds the escalation, so whatever calls this again (another hit, a merge,
    a confirmation) escalates no incident a second time.
    """
    members = list(
        CampaignMember.objects.select_for_update()
        .filter(campaign=campaign)
        .select_related("incident", "incident__customer")
        .order_by("pk")
    )
    customers_of = {m.incident_id: m.incident.customer_id for m in members}
    done = 0
    for member in members:
        if member.escalation_id or member.incident.status != Status.OPEN:
            continue
        others = sum(1 for pk, customer in customers_of.items() if customer != customers_of[member.incident_id])
        try:
            escalation = incidents.escalate_for_campaign(
                member.incident, reason=escalation_reason(campaign, member, others), actor=actor
            )
        except PlaybookError as exc:  # this incident cannot take it now; the next detection tries again
            logger.warning("campaign %s could not escalate %s: %s", campaign.reference, member.incident, exc)
            continue
        member.escalation, member.escalated_at = escalation, timezone.now()
        member.save(update_fields=["escalation", "escalated_at"])
        done += 1
    return done


# --- Decisions of the security team ----------------------------------------------------------


def _require_decider(actor) -> None:
    if not actor.has_any_role(CAMPAIGN_ROLES):
        raise PermissionDenied("Only the security team or a supervisor decides on campaigns.")


def _locked(campaign: Campaign) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == CampaignStatus.MERGED:
        raise PlaybookError(f"{campaign.reference} was merged into {format_campaign(campaign.merged_into_id)}.")
    return campaign


def format_campaign(pk: int | None) -> str:
    return f"CMP-{pk:05d}" if pk else "CMP-(new)"


@transaction.atomic
def confirm_campaign(campaign: Campaign, *, actor) -> Campaign:
    """Security agrees it is one attacker; members not yet escalated (a dismissed one) are escalated now."""
    _require_decider(actor)
    serialize_detection()
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.CONFIRMED:
        raise PlaybookError(f"{campaign.reference} is already confirmed.")
    lock_incidents(campaign.members.values("incident_id"))  # before the audit entry: see prepare()
    campaign.status, campaign.decided_by, campaign.decided_at = CampaignStatus.CONFIRMED, actor, timezone.now()
    campaign.decision_reason = ""
    campaign.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(AuditAction.CAMPAIGN_CONFIRMED, actor=actor, target=campaign, campaign=campaign.reference)
    escalate_members(campaign, actor=actor)
    return campaign


@transaction.atomic
def dismiss_campaign(campaign: Campaign, *, reason: str, actor) -> Campaign:
    """Not one attacker (a shared VPN exit, a carrier NAT): no more escalations from it.

    Escalations already made stay: the security team resolves or hands them back as usual.
    """
    _require_decider(actor)
    if not reason.strip():
        raise PlaybookError("Say why this is not a campaign.")
    serialize_detection()  # a detection under way finishes first, or sees the dismissal
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.DISMISSED:
        raise PlaybookError(f"{campaign.reference} is already dismissed.")
    campaign.status, campaign.decided_by, campaign.decided_at = CampaignStatus.DISMISSED, actor, timezone.now()
    campaign.decision_reason = reason
    campaign.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        AuditAction.CAMPAIGN_DISMISSED,
        actor=actor,
        target=campaign,
        campaign=campaign.reference,
        reason=campaign.decision_reason,
    )
    return campaign


@transaction.atomic
def merge_campaigns(campaign: Campaign, *, into: Campaign, actor) -> Campaign:
    """Move every incident of `campaign` into `into`; `campaign` then points at it."""
    _require_decider(actor)
    if campaign.pk == into.pk:
        raise PlaybookError("Choose another campaign to merge into.")
    serialize_detection()
    first, second = sorted([campaign, into], key=lambda c: c.pk)  # lock in one order: no deadlock
    locked = {c.pk: _locked(c) for c in (first, second)}
    campaign, into = locked[campaign.pk], locked[into.pk]
    lock_incidents(CampaignMember.objects.filter(campaign__in=[campaign, into]).values("incident_id"))
    moved = list(CampaignMember.objects.filter(campaign=campaign).values_list("incident_id", flat=True))
    CampaignMember.objects.filter(campaign=campaign).update(campaign=into)
    campaign.status, campaign.merged_into = CampaignStatus.MERGED, into
    campaign.decided_by, campaign.decided_at = actor, timezone.now()
    campaign.save(update_fields=["status", "merged_into", "decided_by", "decided_at"])
    audit.record(
        AuditAction.CAMPAIGN_MERGED,
        actor=actor,
        target=campaign,
        campaign=campaign.reference,
        into=into.reference,
        incidents=moved,
    )
    if into.is_live:
        escalate_members(into, actor=actor)
    return into
