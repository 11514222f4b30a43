"""Step 6: the post-incident report, previewed and then sent as the final email, in the customer's
language, with what happened and what was done when, and nothing internal."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from incidents import services
from incidents.models import Incident
from notifications.models import CustomerUpdate
from tests.desk import sent_code, verify_caller
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
# One sentence of the report per language, and the heading of its "what was done" part.
EXPECTED = {
    "en": ("You changed your password.", "What we did, and when:"),
    "de": ("Sie haben Ihr Passwort geändert.", "Was wir unternommen haben, und wann:"),
    "pl": ("Hasło do Twojego konta zostało zmienione.", "Co zrobiliśmy i kiedy:"),
    "nb": ("Du endret passordet ditt.", "Hva vi gjorde, og når:"),
    "fa": ("شما رمز عبور خود را تغییر دادید.", "چه کارهایی انجام دادیم و چه زمانی:"),
}
INTERNAL = [
    "INTERNAL-ONLY caller sounded rushed",
    "Tor exit node seen in the logs",
    "203.0.113.7",
    "192.168.1.20",
    "Payee J. Doe added",
    "SECURITY-OUTCOME sessions revoked",
    "Campaign CMP-",
]


def at(minutes):
    return time_machine.travel(T0 + dt.timedelta(minutes=minutes), tick=False)


def fresh(incident):
    return Incident.objects.get(pk=incident.pk)


def worked_to_step_6(language, tier1, security_agent):
    # Times are in the customer's time zone: UTC on this record (test_customer_language.py: other zones).
    customer = CustomerFactory(display_name="Ola Nordmann", language=language, time_zone="UTC")
    with at(0):
        incident = services.open_incident(
            customer=customer, channel="phone", summary="Payee added", severity=2, actor=tier1
        )
    with at(1):
        services.record_unauthorized_change(
            incident,
            kind="transaction",
            description="Payee J. Doe added",
            noticed_at=None,
            actor=tier1,
            expected_version=fresh(incident).version,
        )
        services.add_note(incident, body=INTERNAL[0], visibility="internal", actor=tier1)
    with at(3):
        verify_caller(incident, tier1)
    code = sent_code(incident)
    with at(5):
        services.record_securing(
            incident,
            password_advice="done",
            customer_two_factor="enabled_now",
            actor=tier1,
            expected_version=fresh(incident).version,
        )
        services.add_indicators_from_log(incident, log_text="203.0.113.7 x\n192.168.1.20 y", actor=tier1)
        services.record_findings(incident, findings=INTERNAL[1], actor=tier1, expected_version=fresh(incident).version)
    with at(20):
        escalation = services.escalate(incident, to_team="security", reason="Tor exit", severity=3, actor=tier1)
        services.claim_escalation(escalation, actor=security_agent)
    with at(50):
        services.resolve_escalation(escalation, outcome=INTERNAL[5], actor=security_agent)
        Incident.objects.filter(pk=incident.pk).update(stage="post_incident")  # steps 3-5 are tested elsewhere
    return fresh(incident), code


@pytest.mark.parametrize("language", list(EXPECTED))
def test_preview_then_send_the_report_in_every_language_without_internal_data(
    client, verified_client, tier1, security_agent, language
):
    incident, code = worked_to_step_6(language, tier1, security_agent)
    verified_client(tier1)
    url = reverse("incidents:incident-resolve", args=[incident.pk])
    form = {
        "version": incident.version,
        "resolution_summary": "The payee was removed.",
        "measures_taken": "New password; two-factor authentication on.",
        "advice_given": "Use a unique password.",
    }
    with at(60):
        preview = client.post(url, {**form, "action": "preview"})
    page = preview.content.decode()
    sentence, heading = EXPECTED[language]
    assert preview.status_code == 200 and "Send and close the incident" in page
    assert sentence in page and "2026-11-21 09:05 UTC" in page
    assert fresh(incident).is_open and not CustomerUpdate.objects.filter(template="resolution").exists()

    with at(61):
        sent = client.post(url, {**form, "action": "send"})
    assert sent.status_code == 302
    assert fresh(incident).status == "resolved"
    update = CustomerUpdate.objects.get(incident=incident, template="resolution")
    assert update.language == language
    for body in (update.body_text, update.body_html):
        assert sentence in body and heading.rstrip(":") in body
        for when in ("09:00", "09:03", "09:05", "09:20", "09:50", "10:01"):  # opened ... resolved
            assert f"2026-11-21 {when} UTC" in body, when
        for secret in (*INTERNAL, code):
            assert secret not in body, secret
    assert update.body_text.index("09:05 UTC") < update.body_text.index("09:20 UTC")  # in order

    with at(62):  # the agent's session is as old as the travelled clock says
        report = client.get(reverse("incidents:incident-report", args=[incident.pk])).content.decode()
    assert sentence in report and "print-page" in report


def test_a_send_refused_by_the_playbook_keeps_the_text_on_the_preview(client, verified_client, tier1, security_agent):
    incident, _ = worked_to_step_6("en", tier1, security_agent)
    verified_client(tier1)
    response = client.post(
        reverse("incidents:incident-resolve", args=[incident.pk]),
        {
            "version": incident.version - 1,  # someone changed it meanwhile
            "resolution_summary": "Typed by the agent",
            "measures_taken": "m",
            "advice_given": "a",
            "action": "send",
        },
    )
    page = response.content.decode()
    assert response.status_code == 409 and "was changed meanwhile" in page and "Typed by the agent" in page
    assert fresh(incident).is_open


def test_the_report_page_waits_for_the_resolution(client, verified_client, tier1, security_agent):
    incident, _ = worked_to_step_6("en", tier1, security_agent)
    verified_client(tier1)
    page = client.get(reverse("incidents:incident-report", args=[incident.pk])).content.decode()
    assert "Not resolved yet" in page


def test_the_report_claims_no_verification_after_an_override_and_no_security_specialists_for_tier_2(tier1):
    from incidents import selectors, verification
    from tests.factories import UserFactory

    customer = CustomerFactory(language="en")
    with at(0):
        incident = services.open_incident(customer=customer, channel="phone", summary="x", severity=2, actor=tier1)
    with at(2):
        verification.override(incident, reason="Caller known to the branch", actor=UserFactory(roles=["supervisor"]))
    with at(4):
        escalation = services.escalate(incident, to_team="tier2", reason="Unclear", severity=2, actor=tier1)
        tier2 = UserFactory(roles=["tier2"])
        services.claim_escalation(escalation, actor=tier2)
    with at(9):
        services.resolve_escalation(escalation, outcome="Checked", actor=tier2)
    kinds = [step["kind"] for step in selectors.post_incident_report(fresh(incident))["steps"]]
    assert kinds == ["opened"]
