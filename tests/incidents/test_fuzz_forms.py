"""Hostile and malformed posts to every incident form: never a server error, and a rejected post
changes nothing already saved."""

import pytest
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breaches import services as breaches
from campaigns.models import Campaign, CampaignMember
from incidents import services
from incidents.models import Incident
from tests.incidents.test_access_table import INCIDENT_URLS, _reverse

FIELDS = [
    "version", "kind", "description", "noticed_at", "reason", "password_advice", "customer_two_factor", "findings",
    "log_text", "verdict", "to_team", "severity", "message", "action", "body", "visibility", "resolution_summary",
    "measures_taken", "advice_given", "identified_by", "code", "outcome", "aware_at", "jurisdictions", "high_risk",
    "obligation", "met_at", "how", "note", "into",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=50),
    st.text(min_size=5000, max_size=6000),
    st.just("\x00nul\x00"),
    st.just("<script>alert(1)</script>"),
    st.integers(-(2**63), 2**63).map(str),
    st.sampled_from(["1", "0", "-1", "security", "tier2", "done", "unauthorized", "send", "customer", "9" * 40]),
)
POSTS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8)


def snapshot(incident_pk):
    incident = Incident.objects.get(pk=incident_pk)
    return model_to_dict(incident), incident.changes.count(), incident.notes.count(), incident.escalations.count()


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(url_name=st.sampled_from(sorted(set(INCIDENT_URLS) - {"incident-detail", "incident-history"})), post=POSTS)
def test_random_posts_never_break_a_page_or_change_saved_data_when_refused(
    client, verified_client, supervisor_agent, incident, url_name, post
):
    verified_client(supervisor_agent)
    requester = incident.opened_by
    if not incident.indicators.exists():
        services.add_indicators_from_log(incident, log_text="from 8.8.8.8", actor=requester)
    escalation = incident.escalations.first() or services.escalate(
        incident, to_team="tier2", reason="r", severity=2, actor=requester
    )
    if url_name == "update-retry":
        url = _reverse(url_name, [incident.pk, incident.customer_updates.first().pk])
    elif url_name == "obligation-met":
        breach = getattr(incident, "data_breach", None) or breaches.mark_data_breach(
            incident,
            aware_at=incident.created_at,
            jurisdictions=["EU/EEA (GDPR)"],
            high_risk=False,
            description="",
            actor=supervisor_agent,
        )
        url = _reverse(url_name, [incident.pk, breach.obligations.first().pk])
    elif INCIDENT_URLS[url_name] == "campaign":
        member = CampaignMember.objects.filter(incident=incident).first() or CampaignMember.objects.create(
            campaign=Campaign.objects.create(), incident=incident, reason="r", matched_ip="8.8.8.8"
        )
        url = _reverse(url_name, [member.campaign_id])
    elif INCIDENT_URLS[url_name] == "escalation":
        url = _reverse(url_name, [escalation.pk])
    else:
        url = _reverse(url_name, [incident.pk])
    before = snapshot(incident.pk)
    response = client.post(url, post)
    assert response.status_code < 500
    if response.status_code == 400:
        assert snapshot(incident.pk) == before, f"{url_name} changed data although it refused the post"
    if "<script>alert(1)</script>" in post.values():
        assert b"<script>alert(1)</script>" not in response.content
