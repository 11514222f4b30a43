"""Read queries of campaigns: the banner on an incident, the campaign list and page, the packet's
section (fixed query counts)."""

from django.db.models import Count, QuerySet
from django.http import Http404

from incidents.models import Incident, Indicator
from incidents.selectors import sees_restricted

from .models import Campaign, CampaignMember
from .triggers import TRIGGER_VERDICTS


def campaign_banner(incident: Incident, agent) -> dict | None:
    """ "Seen in N other customers' incidents": the count for everyone, the references only of
    incidents this agent may open (a restricted one is counted, never named). Two queries."""
    member = CampaignMember.objects.select_related("campaign").filter(incident=incident).first()
    if member is None:
        return None
    others = list(
        CampaignMember.objects.filter(campaign_id=member.campaign_id)
        .exclude(incident__customer_id=incident.customer_id)
        .select_related("incident")
        .order_by("incident_id")
    )
    shown = [m.incident for m in others if sees_restricted(agent) or not m.incident.restricted]
    return {
        "campaign": member.campaign,
        "member": member,
        "count": len(others),
        "shown": shown,
        "hidden": len(others) - len(shown),
        "may_open_campaign": sees_restricted(agent),
    }


def campaign_list(*, status: str = "") -> QuerySet:
    campaigns = Campaign.objects.annotate(incident_count=Count("members")).select_related("decided_by")
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns.order_by("-created_at", "-pk")


def campaign_detail(pk: int) -> dict:
    """A campaign's page: its incidents, the addresses that link them, its timeline (fixed queries)."""
    try:
        campaign = Campaign.objects.select_related("created_by", "decided_by", "merged_into").get(pk=pk)
    except Campaign.DoesNotExist as exc:
        raise Http404("No such campaign.") from exc
    members = list(
        campaign.members.select_related(
            "incident", "incident__customer", "incident__assignee", "escalation", "escalation__claimed_by"
        )
    )
    incident_ids = [m.incident_id for m in members]
    indicators = list(
        Indicator.objects.filter(incident_id__in=incident_ids, verdict__in=TRIGGER_VERDICTS)
        .order_by("ip", "incident_id")
        .values("ip", "network", "incident_id", "verdict", "created_at")
    )
    # Addresses seen in at least two of the campaign's incidents (or networks, for /24 and /48 hits).
    by_ip: dict[str, set[int]] = {}
    by_network: dict[str, set[int]] = {}
    for row in indicators:
        by_ip.setdefault(row["ip"], set()).add(row["incident_id"])
        by_network.setdefault(row["network"], set()).add(row["incident_id"])
    reference = {m.incident_id: m.incident.reference for m in members}
    shared_ips = [
        {"ip": ip, "incidents": sorted(reference[i] for i in ids)} for ip, ids in sorted(by_ip.items()) if len(ids) > 1
    ]
    shared_networks = [
        {"network": net, "incidents": sorted(reference[i] for i in ids)}
        for net, ids in sorted(by_network.items())
        if len(ids) > 1 and net
    ]
    timeline = [{"at": campaign.created_at, "text": f"Detected ({campaign.created_by or 'the desk'})"}]
    for m in members:
        timeline.append({"at": m.joined_at, "text": f"{m.incident.reference} linked: {m.reason}"})
        if m.escalation:
            timeline.append({"at": m.escalation.requested_at, "text": f"{m.incident.reference} escalated to security"})
            if m.escalation.claimed_at:
                timeline.append(
                    {
                        "at": m.escalation.claimed_at,
                        "text": f"{m.incident.reference} claimed by",
                        "who": m.escalation.claimed_by,  # a name: the page shows it isolated
                    }
                )
    if campaign.decided_at:
        timeline.append(
            {"at": campaign.decided_at, "text": f"{campaign.get_status_display()} by", "who": campaign.decided_by}
        )
    timeline.sort(key=lambda event: event["at"])
    return {
        "campaign": campaign,
        "members": members,
        "customers": len({m.incident.customer_id for m in members}),
        "shared_ips": shared_ips,
        "shared_networks": shared_networks,
        "timeline": timeline,
    }


def packet_section(incident: Incident) -> dict:
    """The hand-off packet's campaign line: the campaign and how many incidents it holds (two queries)."""
    member = CampaignMember.objects.select_related("campaign").filter(incident=incident).first()
    return {
        "campaign": member.campaign if member else None,
        "campaign_member": member,
        "campaign_size": member.campaign.members.count() if member else 0,
    }
