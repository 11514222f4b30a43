"""Every incident-scoped URL, with every role and with an agent holding no role: allowed or denied.

URLs are enumerated from every app's URLconf (a path with an id), so a new such URL must be added
to the table.
"""

import pytest
from django.urls import NoReverseMatch, get_resolver, reverse

from breaches import services as breaches
from campaigns.models import Campaign, CampaignMember
from incidents import services
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["agent", "tier2", "security", "supervisor", None]
# Who may reach an incident's URLs at all (beyond that, services may still refuse an action).
SEES_NORMAL = {"agent", "tier2", "security", "supervisor"}
SEES_RESTRICTED = {"security", "supervisor"}
# The apps whose URLs take an incident's id, or the id of something of an incident's (accounts'
# and audit's own are checked in their tests).
NAMESPACES = ("incidents", "campaigns", "breaches")
# URL name -> which object's pk it takes.
INCIDENT_URLS = {
    "incident-detail": "incident",
    "incident-history": "incident",
    "incident-advance": "incident",
    "incident-change": "incident",
    "incident-not-confirmed": "incident",
    "incident-reopen": "incident",
    "verification-send": "incident",
    "verification-send-previous": "incident",
    "verification-send-override": "incident",
    "verification-check": "incident",
    "verification-override": "incident",
    "incident-securing": "incident",
    "incident-findings": "incident",
    "incident-indicators": "incident",
    "incident-verdicts": "incident",
    "incident-presence": "incident",
    "update-retry": "update",
    "incident-escalate": "incident",
    "incident-restrict": "incident",
    "incident-no-escalation": "incident",
    "incident-progress": "incident",
    "incident-note": "incident",
    "incident-resolve": "incident",
    "escalation-claim": "escalation",
    "escalation-return": "escalation",
    "escalation-resolve": "escalation",
    "incident-packet": "incident",
    "incident-report": "incident",
    "campaign-detail": "campaign",
    "campaign-confirm": "campaign",
    "campaign-dismiss": "campaign",
    "campaign-merge": "campaign",
    "incident-breach": "incident",
    "obligation-met": "obligation",
}
# Read with GET; the rest are actions (POST).
PAGES = {"incident-detail", "incident-history", "incident-packet", "incident-report", "campaign-detail"}
CAMPAIGN_ROLES = {"security", "supervisor"}
# Role-gated regardless of the incident: (url name, roles allowed).
ROLE_GATED = {
    "incident-reopen": {"supervisor"},
    "verification-override": {"supervisor"},
    "verification-send-override": {"supervisor"},
    "escalation-claim": {"security", "supervisor"},  # the escalations here go to the security team
    "incident-restrict": {"security", "supervisor"},
    "campaign-detail": CAMPAIGN_ROLES,
    "campaign-confirm": CAMPAIGN_ROLES,
    "campaign-dismiss": CAMPAIGN_ROLES,
    "campaign-merge": CAMPAIGN_ROLES,
    "incident-breach": {"security", "supervisor"},
    "obligation-met": {"security", "supervisor"},
}


def test_the_table_covers_every_incident_scoped_url():
    scoped = set()
    for resolver in get_resolver().url_patterns:
        if getattr(resolver, "namespace", None) in NAMESPACES:
            # A customer's page is not an incident's: every agent may open it, and it lists only
            # the incidents they may see (tests/incidents/test_customers.py).
            scoped |= {
                p.name
                for p in resolver.url_patterns
                if "<int:pk>" in str(p.pattern) and not p.name.startswith("customer-")
            }
    assert scoped == set(INCIDENT_URLS)


@pytest.fixture
def objects():
    requester = UserFactory(roles=["agent"])
    made = {}
    for kind in ("normal", "restricted"):
        incident = IncidentFactory(restricted=kind == "restricted")
        indicators = services.add_indicators_from_log(incident, log_text="seen 8.8.8.8", actor=requester)
        escalation = services.escalate(incident, to_team="security", reason="r", severity=2, actor=requester)
        update = incident.customer_updates.first()
        campaign = Campaign.objects.create()
        CampaignMember.objects.create(campaign=campaign, incident=incident, reason="r", matched_ip="8.8.8.8")
        breach = breaches.mark_data_breach(
            incident,
            aware_at=incident.created_at,
            jurisdictions=["EU/EEA (GDPR)"],
            high_risk=False,
            description="",
            actor=UserFactory(roles=["security"]),
        )
        made[kind] = {
            "campaign": campaign.pk,
            "obligation": breach.obligations.get().pk,
            "incident": incident.pk,
            "indicator": indicators[0].pk,
            "escalation": escalation.pk,
            "update": update.pk,
        }
    return made


def _reverse(name, args):
    for namespace in NAMESPACES:
        try:
            return reverse(f"{namespace}:{name}", args=args)
        except NoReverseMatch:
            continue
    raise NoReverseMatch(name)


def _url(name, kind, objects):
    ids = objects[kind]
    if name == "update-retry":
        return _reverse(name, [ids["incident"], ids["update"]])
    if name == "obligation-met":
        return _reverse(name, [ids["incident"], ids["obligation"]])
    return _reverse(name, [ids[INCIDENT_URLS[name]]])


@pytest.mark.parametrize("role", ROLES, ids=[r or "no-role" for r in ROLES])
@pytest.mark.parametrize("kind", ["normal", "restricted"])
def test_every_incident_url_allows_or_denies_per_role(client, verified_client, objects, role, kind):
    verified_client(UserFactory(roles=[role] if role else []))
    sees = role in (SEES_RESTRICTED if kind == "restricted" else SEES_NORMAL)
    checked = 0
    for name in INCIDENT_URLS:
        url = _url(name, kind, objects)
        response = client.get(url) if name in PAGES else client.post(url, {})
        allowed = sees and role in ROLE_GATED.get(name, {role})
        if allowed:
            assert response.status_code not in (403, 404), f"{role} on {kind} {name}: {response.status_code}"
        else:
            assert response.status_code in (403, 404), f"{role} on {kind} {name}: {response.status_code}"
        checked += 1
    assert checked == len(INCIDENT_URLS)


@pytest.mark.parametrize("role", ROLES, ids=[r or "no-role" for r in ROLES])
def test_lists_and_ip_search_hide_what_the_role_may_not_see(client, verified_client, objects, role):
    from incidents.models import Incident, format_reference

    verified_client(UserFactory(roles=[role] if role else []))
    normal, restricted = (format_reference(objects[k]["incident"]) for k in ("normal", "restricted"))
    listing = client.get(reverse("incidents:incident-list")).content.decode()
    by_ip = client.get(reverse("incidents:ip-search"), {"ip": "8.8.8.8"}).content.decode()
    for page in (listing, by_ip):
        assert (normal in page) == (role in SEES_NORMAL)
        assert (restricted in page) == (role in SEES_RESTRICTED)
    assert Incident.objects.count() == 2


@pytest.mark.parametrize("role", ROLES, ids=[r or "no-role" for r in ROLES])
def test_the_campaign_list_is_for_security_and_supervisors(client, verified_client, objects, role):
    verified_client(UserFactory(roles=[role] if role else []))
    response = client.get(reverse("campaigns:campaign-list"))
    assert response.status_code == (200 if role in CAMPAIGN_ROLES else 403)
