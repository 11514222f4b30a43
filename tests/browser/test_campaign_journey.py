"""The same unauthorized IP on a second customer's incident, in Chromium: both incidents are flagged
with the campaign banner and escalated once; the security queue item opens with the hand-off
packet, which stays open while the queue refreshes; the Persian post-incident email renders RTL."""

import pytest

from campaigns.models import CampaignMember
from incidents import services
from incidents.models import Escalation, Incident
from notifications.models import CustomerUpdate
from tests.browser.test_playbook_journey import assert_fits, sign_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ATTACKER = "203.0.113.7"


def _incident(customer, actor, summary):
    incident = services.open_incident(customer=customer, channel="phone", summary=summary, severity=2, actor=actor)
    Incident.objects.filter(pk=incident.pk).update(stage="investigate")  # steps 1-2 are another test's journey
    return incident


def test_same_ip_on_two_customers_flags_both_and_security_opens_the_packet(live_server, browser, screenshot):
    base = live_server.url
    tier1 = UserFactory(roles=["agent"], full_name="Alex Agent")
    security = UserFactory(roles=["security"], full_name="Sasha Security")
    first = _incident(
        CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", language="nb"),
        tier1,
        "Payout account changed overnight",
    )
    services.add_indicators_from_log(first, log_text=f"{ATTACKER} POST /payout", actor=tier1)
    services.set_indicator_verdict(first.indicators.get(), verdict="unauthorized", actor=tier1)
    second = _incident(
        CustomerFactory(display_name="Marta Kowalska", email="m.kowalska@example.com", language="pl"),
        tier1,
        "New payee the customer does not know",
    )

    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    security_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page, sec = agent_ctx.new_page(), security_ctx.new_page()
    csp_violations = []
    for tab in (page, sec):
        tab.set_default_timeout(10_000)
        tab.on("console", lambda m: "Content Security Policy" in m.text and csp_violations.append(m.text))
    sign_in(page, base, tier1)
    sign_in(sec, base, security)

    # The tier-1 agent records the same address on the second customer's incident and judges it.
    page.goto(f"{base}/incidents/{second.pk}/")
    page.get_by_label("Paste activity-log lines").fill(
        f'{ATTACKER} - - [21/Nov/2026:02:14:09 +0000] "POST /payees" 201'
    )
    page.get_by_role("button", name="Find IP addresses").click()
    page.get_by_label(f"Verdict for {ATTACKER}").select_option("unauthorized")
    page.get_by_role("button", name="Save verdicts").click()
    banner = page.locator("#campaign-banner")
    assert banner.locator("h2").inner_text() == "Seen in 1 other customer's incident"
    assert first.reference in banner.inner_text() and "escalated to the security team" in banner.inner_text()
    screenshot(page, "01-campaign-banner")

    for incident in (first, second):
        assert Escalation.objects.filter(incident=incident, to_team="security").count() == 1
        assert CampaignMember.objects.get(incident=incident).escalation_id
    # The first customer's incident carries the banner too.
    page.goto(f"{base}/incidents/{first.pk}/")
    assert "Seen in 1 other customer's incident" in page.locator("#campaign-banner").inner_text()

    # Security: both are waiting; the queue item opens with the hand-off packet.
    sec.goto(base + "/queue/security/")
    row = sec.locator(f"#queue-items tr.packet-row:has(#packet-{second.pk})")
    row.locator("summary").click()
    packet = row.locator(".packet")
    packet.wait_for()
    text = packet.inner_text()
    for expected in (
        "M. K***",
        "m***@example.com",
        ATTACKER,
        "same IP: 1",
        "Not authorized by the customer",
        "Campaign",
    ):
        assert expected in text, expected
    assert "Marta Kowalska" not in text
    # The queue refreshes every 5 seconds; the open packet survives the refresh.
    with sec.expect_response(lambda response: "/queue/security/items/" in response.url):
        pass
    sec.wait_for_load_state("networkidle")
    assert row.locator("details").get_attribute("open") is not None
    assert "M. K***" in row.locator(".packet").inner_text()
    screenshot(sec, "02-security-queue-packet")

    # The campaign page: incidents, shared IP, timeline.
    sec.goto(f"{base}/campaigns/{CampaignMember.objects.get(incident=second).campaign_id}/")
    campaign_text = sec.locator("main").inner_text()
    assert first.reference in campaign_text and second.reference in campaign_text and ATTACKER in campaign_text
    screenshot(sec, "03-campaign-page")

    # The printable packet.
    sec.goto(f"{base}/incidents/{second.pk}/packet/")
    sec.emulate_media(media="print")
    assert not sec.locator(".topbar").is_visible()
    screenshot(sec, "04-packet-print")
    sec.emulate_media(media="screen")

    # Phone width: the banner and the queue fit.
    phone_ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, storage_state=security_ctx.storage_state()
    )
    phone = phone_ctx.new_page()
    phone.goto(f"{base}/incidents/{second.pk}/")
    assert phone.locator("#campaign-banner").is_visible()
    screenshot(phone, "05-phone-banner")
    phone.screenshot(path=str(screenshot(phone, "05-phone-banner")).replace(".png", "-top.png"))  # first screen
    assert_fits(phone)
    phone.goto(base + "/queue/security/")
    phone.locator("#queue-items summary").first.click()
    phone.locator("#queue-items .packet").first.wait_for()
    screenshot(phone, "06-phone-queue-packet")
    assert_fits(phone)
    assert csp_violations == []


def test_persian_post_incident_email(live_server, browser, screenshot):
    """The final email as the customer gets it (HTML part), opened as a page in Chromium."""
    from tests.desk import verify_caller

    tier1 = UserFactory(roles=["agent"], full_name="Alex Agent")
    customer = CustomerFactory(display_name="مریم کریمی", email="maryam@example.org", language="fa")
    incident = services.open_incident(
        customer=customer, channel="email", summary="Unknown sign-in", severity=2, actor=tier1
    )
    services.record_unauthorized_change(
        incident, kind="activity_log", description="x", noticed_at=None, actor=tier1, expected_version=1
    )
    verify_caller(incident, tier1)
    services.record_securing(
        incident,
        password_advice="done",
        customer_two_factor="enabled_now",
        actor=tier1,
        expected_version=Incident.objects.get(pk=incident.pk).version,
    )
    Incident.objects.filter(pk=incident.pk).update(stage="post_incident")
    services.resolve_incident(
        incident,
        resolution_summary="نشست ناشناس پایان یافت و دسترسی آن قطع شد.",
        measures_taken="رمز عبور جدید و فعال‌سازی احراز هویت دومرحله‌ای.",
        advice_given="رمز عبور خود را مرتب تغییر دهید و اطلاعات ورود را با کسی در میان نگذارید.",
        actor=tier1,
        expected_version=Incident.objects.get(pk=incident.pk).version,
    )
    email = CustomerUpdate.objects.get(incident=incident, template="resolution")
    assert email.language == "fa"
    for width, name in ((1280, "01-persian-email-desktop"), (390, "02-persian-email-phone")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_content(email.body_html)
        assert page.evaluate("document.documentElement.dir") == "rtl"
        body = page.locator("body").inner_text()
        assert "چه کارهایی انجام دادیم و چه زمانی" in body and "شما رمز عبور خود را تغییر دادید." in body
        screenshot(page, name)
        context.close()
