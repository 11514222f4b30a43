"""Every refused action says so, next to what the agent did, keeps what they typed, and answers
with the status that fits (400 input, 409 the incident's state, 403 a role).

The walk posts every form URL of the incident page at every stage of the playbook (and closed),
from a stale tab: what the agent typed, with the page version of before the incident moved on.
"""

import re

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import Incident
from tests.desk import fresh, verify_caller, walk_to
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TYPED = "Kept-4711 what the agent typed"

# name -> the incident page's POST URL of each action (escalation actions take the escalation's id).
INCIDENT_FORMS = [
    "incident-change",
    "incident-not-confirmed",
    "incident-advance",
    "verification-send",
    "verification-send-previous",
    "verification-check",
    "incident-securing",
    "incident-findings",
    "incident-indicators",
    "incident-verdicts",
    "incident-escalate",
    "incident-restrict",
    "incident-no-escalation",
    "incident-progress",
    "incident-note",
    "incident-resolve",
    "incident-reopen",
]
SUPERVISOR_REAUTH = ["verification-send-override", "verification-override"]
# The satellites' forms on the incident page.
SATELLITE_FORMS = ["breaches:incident-breach"]
STAGES = ["confirm", "secure", "investigate", "escalate", "communicate", "post_incident", "closed"]

# Every field any of these forms has, filled the way a stale tab would send it.
STALE_POST = {
    "version": "999",  # the tab is older (or newer) than the incident: a stale version
    "kind": "transaction",
    "description": TYPED,
    "reason": TYPED,
    "identified_by": "email",
    "code": "000000",
    "password_advice": "done",
    "customer_two_factor": "enabled_now",
    "findings": TYPED,
    "log_text": TYPED + " from 203.0.113.9",
    "to_team": "security",
    "severity": "3",
    "message": TYPED,
    "body": TYPED,
    "visibility": "carrier-pigeon",
    "resolution_summary": TYPED,
    "measures_taken": TYPED,
    "advice_given": TYPED,
    "action": "send",
    "outcome": TYPED,
}


def _at(stage, customer, actor, supervisor):
    incident = services.open_incident(customer=customer, channel="phone", summary="Payee", severity=2, actor=actor)
    if stage == "closed":
        incident = walk_to(incident, "post_incident", actor)
        services.resolve_incident(
            incident,
            resolution_summary="r",
            measures_taken="m",
            advice_given="a",
            actor=actor,
            expected_version=fresh(incident).version,
        )
        return fresh(incident)
    return walk_to(incident, stage, actor)


def _notice(html: str) -> str:
    found = re.search(r'<section class="notice notice-error refusal".*?</section>', html, re.S)
    return found.group(0) if found else ""


def _check_refused(response, url):
    html = response.content.decode()
    assert response.status_code in (400, 403, 409), (url, response.status_code)
    notice = _notice(html)
    assert notice, f"{url}: no refusal notice ({response.status_code})"
    assert "Not saved:" in notice
    reasons = re.findall(r"<li>(.+?)</li>", notice, re.S)
    assert reasons and all(reason.strip() for reason in reasons), url
    return html, notice


@pytest.mark.parametrize("stage", STAGES)
def test_every_form_of_the_incident_page_refuses_visibly_at_every_stage(
    client, verified_client, customer, tier1, supervisor_agent, stage
):
    incident = _at(stage, customer, tier1, supervisor_agent)
    verified_client(supervisor_agent, reauthenticated=True)
    refused = 0
    for name in INCIDENT_FORMS + SUPERVISOR_REAUTH + SATELLITE_FORMS:
        before = fresh(incident).version
        url = reverse(name if ":" in name else f"incidents:{name}", args=[incident.pk])
        response = client.post(url, STALE_POST)
        if response.status_code == 302:  # accepted at this stage (e.g. a code sent): it says so
            page = client.get(response["Location"]).content.decode()
            assert 'class="message message-success"' in page, url
            continue
        html, _notice = _check_refused(response, url)
        if any(value == TYPED for value in STALE_POST.values()) and name not in (
            "incident-advance",
            "verification-send",
            "verification-send-previous",
            "verification-check",
            "incident-securing",
            "incident-verdicts",
        ):
            # Typed text is kept: in the form in place, or in the notice when the form is not shown.
            assert TYPED in html, url
        assert fresh(incident).version == before, f"{url} changed the incident although refused"
        refused += 1
    assert refused >= 8  # the rest were accepted at this stage, and said so


def test_a_stale_tab_at_step_1_shows_why_securing_and_findings_were_not_saved(client, verified_client, customer, tier1):
    incident = services.open_incident(customer=customer, channel="phone", summary="P", severity=2, actor=tier1)
    verified_client(tier1)
    response = client.post(
        reverse("incidents:incident-findings", args=[incident.pk]), {"version": "99", "findings": TYPED}
    )
    _html, notice = _check_refused(response, "findings")
    assert response.status_code == 409
    assert "Save findings" in notice and "changed meanwhile" in notice
    assert TYPED in notice  # the findings form is not on a step-1 page: the notice keeps the text
    response = client.post(
        reverse("incidents:incident-securing", args=[incident.pk]),
        {"version": str(fresh(incident).version), "password_advice": "done", "customer_two_factor": "enabled_now"},
    )
    _html, notice = _check_refused(response, "securing")
    assert response.status_code == 409
    assert "Record securing steps" in notice and "caller" in notice.lower()


def test_input_errors_are_400_next_to_the_field_and_named_in_the_notice(client, verified_client, incident, tier1):
    verified_client(tier1)
    response = client.post(
        reverse("incidents:incident-change", args=[incident.pk]),
        {"version": str(incident.version), "kind": "nonsense", "description": TYPED},
    )
    html, notice = _check_refused(response, "change")
    assert response.status_code == 400
    assert "What changed:" in notice
    assert "still in the form below" in notice
    assert 'class="field field-error"' in html and TYPED in html


def test_escalation_actions_from_a_stale_tab_say_why(client, verified_client, incident, tier1, security_agent):
    escalation = services.escalate(incident, to_team="security", reason="x", severity=3, actor=tier1)
    other = UserFactory(roles=["security"], full_name="Olga Other")
    services.claim_escalation(escalation, actor=other)
    verified_client(security_agent)
    # From the incident page: the page again, with who holds it.
    response = client.post(reverse("incidents:escalation-claim", args=[escalation.pk]), {"from": "incident"})
    html, notice = _check_refused(response, "claim")
    assert response.status_code == 409 and "Olga Other" in notice
    # From the queue: the queue again, with the same notice.
    response = client.post(reverse("incidents:escalation-claim", args=[escalation.pk]))
    html, notice = _check_refused(response, "claim from queue")
    assert "Claim the escalation" in notice and 'id="queue-items"' in html
    # Resolving or handing back someone else's escalation.
    for name, data in (("escalation-resolve", {"outcome": TYPED}), ("escalation-return", {"reason": TYPED})):
        response = client.post(reverse(f"incidents:{name}", args=[escalation.pk]), data)
        html, notice = _check_refused(response, name)
        assert TYPED in notice, name  # the security agent does not hold it: the form is not on the page
    assert Incident.objects.get(pk=incident.pk).assignee == other


def test_sending_again_an_email_that_did_not_fail_is_refused_on_the_page(client, verified_client, incident, tier1):
    verify_caller(incident, tier1)
    update = incident.customer_updates.filter(template="acknowledgement").get()
    verified_client(tier1)
    response = client.post(reverse("incidents:update-retry", args=[incident.pk, update.pk]))
    _html, notice = _check_refused(response, "retry")
    assert response.status_code == 409 and "Send a failed email again" in notice


def test_after_a_stale_refusal_sending_the_form_again_is_a_retry_on_the_current_version(
    client, verified_client, incident, tier1
):
    verified_client(tier1)
    stale = {"version": "99", "kind": "transaction", "description": TYPED}
    response = client.post(reverse("incidents:incident-change", args=[incident.pk]), stale)
    assert response.status_code == 409
    html = response.content.decode()
    form = html.split(f'action="/incidents/{incident.pk}/changes/"')[1].split("</form>")[0]
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    assert version == str(fresh(incident).version) and TYPED in form
    response = client.post(reverse("incidents:incident-change", args=[incident.pk]), {**stale, "version": version})
    assert response.status_code == 302 and fresh(incident).changes.get().description == TYPED
