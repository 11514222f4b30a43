"""A tier-1 agent takes a phone report from opening to closed in Chromium, guided by the stepper;
a security agent sees the escalation arrive in the queue without reloading and claims it."""

import re

import pytest
from django.core import mail

from incidents.models import Incident
from tests.factories import PASSWORD, CustomerFactory, UserFactory, confirmed_totp_device, totp_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url, user):
    device = confirmed_totp_device(user)
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("textbox", name="Code").fill(totp_now(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(base_url + "/")


OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !el.closest('.table-wrap'))
    .map(el => el.tagName.toLowerCase() + '.' + el.className).slice(0, 10);
}"""


def assert_fits(page):
    """Nothing but scrollable tables may stick out sideways on a phone."""
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def current_step(page):
    return page.locator("#current-step-title").inner_text()


def test_phone_report_from_opening_to_closed_with_security_claim(live_server, browser, screenshot):
    base = live_server.url
    tier1 = UserFactory(roles=["agent"], full_name="Alex Agent")
    security = UserFactory(roles=["security"], full_name="Sasha Security")
    CustomerFactory(display_name="Kari Nordmann", email="kari@example.org", account_reference="ACC-4242", language="nb")

    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    security_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page, sec = agent_ctx.new_page(), security_ctx.new_page()
    csp_violations = []
    for tab in (page, sec):
        tab.on(
            "console", lambda message: "Content Security Policy" in message.text and csp_violations.append(message.text)
        )
    page.set_default_timeout(10_000)
    sec.set_default_timeout(10_000)
    sign_in(page, base, tier1)
    sign_in(sec, base, security)
    sec.goto(base + "/queue/security/")
    assert "Nothing waiting" in sec.locator("#queue-items").inner_text()

    # Open the incident from the phone call.
    page.get_by_role("link", name="Open an incident").first.click()
    page.get_by_label("Customer (email of record or account reference)").fill("ACC-4242")
    page.get_by_label("Channel").select_option("phone")
    page.get_by_label("Severity").select_option("3")
    page.get_by_label("Summary").fill("Caller says a new payee appeared and money left the account.")
    page.get_by_role("button", name="Open incident").click()
    assert current_step(page) == "Step 1: Confirm"
    incident = Incident.objects.get()
    screenshot(page, "01-opened")

    # The gate holds: nothing recorded yet.
    page.get_by_role("button", name="Complete this step →").click()
    assert "record at least one change the customer did not authorize" in page.locator("#refusal").inner_text()
    assert current_step(page) == "Step 1: Confirm"

    # Step 1: what was not authorized.
    page.get_by_label("What changed").select_option("transaction")
    page.get_by_label("Description").fill("New payee 'J. Doe' added; 1,200 EUR transferred.")
    page.get_by_role("button", name="Record unauthorized change").click()
    page.get_by_role("button", name="Complete this step →").click()
    assert current_step(page) == "Step 2: Secure"
    screenshot(page, "02-secure-needs-verified-caller")

    # Caller verification with the code from the delivered email.
    page.get_by_role("button", name="Send code to the customer").click()
    code_email = next(m for m in mail.outbox if "verification" in m.subject.lower() or "kode" in m.subject.lower())
    code = re.search(r"\b(\d{6})\b", code_email.body).group(1)
    page.get_by_label("Code the caller reads back").fill(code)
    page.get_by_role("button", name="Check code").click()
    assert "verified" in page.locator("#verify-caller-title").inner_text()

    # Step 2: secure the account.
    page.get_by_label("Customer changed the password").check()
    page.get_by_label("Enabled now").check()
    page.get_by_role("button", name="Record securing steps").click()
    page.get_by_role("button", name="Complete this step →").click()
    assert current_step(page) == "Step 3: Investigate"

    # Step 3: paste the activity log, judge each IP, write findings.
    page.get_by_label("Paste activity-log lines").fill(
        '185.220.101.7 - - [21/Nov/2026:02:14:09 +0000] "POST /payees HTTP/1.1" 201 312\n'
        "Nov 21 02:10:01 auth: login ok user=kari from 192.168.1.20"
    )
    page.get_by_role("button", name="Find IP addresses").click()
    page.get_by_label("Verdict for 185.220.101.7").select_option("unauthorized")
    # The private address is offered as legitimate already: one save judges both.
    assert page.get_by_label("Verdict for 192.168.1.20").input_value() == "legitimate"
    assert "Private network" in page.locator("#indicators").inner_text()
    page.get_by_role("button", name="Save verdicts").click()
    assert "2 verdict(s) saved." in page.locator(".messages").inner_text()
    page.get_by_role("textbox", name="Findings").fill(
        "Payee added from a Tor exit node 4 minutes after a login from it."
    )
    page.get_by_role("button", name="Save findings").click()
    screenshot(page, "03-investigate")
    page.get_by_role("button", name="Complete this step →").click()
    assert current_step(page) == "Step 4: Escalate?"

    # Step 4: escalate to security; the security agent sees it arrive without reloading.
    page.locator("#escalate").get_by_label("Escalate to").select_option("security")
    page.locator("#escalate").get_by_label("Severity").select_option("4")
    page.locator("#escalate").get_by_label("Reason").fill("Money moved to an attacker's payee; Tor exit node.")
    page.locator("#escalate").get_by_role("button", name="Escalate").click()
    sec.locator("#queue-items").get_by_role("link", name=incident.reference).wait_for(timeout=15_000)
    screenshot(sec, "04-security-queue")
    sec.locator("#queue-items").get_by_role("button", name="Claim").click()
    sec.wait_for_url(f"**/incidents/{incident.pk}/")
    assert "claimed by Sasha Security" in sec.locator("#escalations-title + *, .escalation").first.inner_text()
    sec.get_by_label("What the team found and did").fill("Sessions revoked, payee blocked, bank recall filed.")
    sec.get_by_role("button", name="Resolve escalation").click()
    screenshot(sec, "05-security-resolved")

    page.reload()
    page.get_by_role("button", name="Complete this step →").click()
    assert current_step(page) == "Step 5: Communicate"

    # Step 5: a progress update, previewed then sent.
    page.get_by_label("Progress update for the customer").fill(
        "We blocked the payee and asked your bank to recall the transfer."
    )
    page.get_by_role("button", name="Preview update").click()
    assert "asked your bank" in page.locator(".email-body").inner_text()
    page.get_by_role("button", name="Send to the customer").click()
    page.get_by_role("button", name="Complete this step →").click()
    assert current_step(page) == "Step 6: Resolve"

    # Step 6: resolution, measures, advice -> final email and closed.
    page.get_by_label("How it was resolved").fill("The payee was removed and the transfer recalled.")
    page.get_by_label("Measures taken to secure the account").fill(
        "New password, two-factor authentication on, sessions revoked."
    )
    page.get_by_role("button", name="Preview the final email").click()
    preview = page.locator(".email-body").inner_text()
    assert "Saken din ble løst." in preview and "185.220.101.7" not in preview  # Norwegian, nothing internal
    screenshot(page, "06-final-email-preview")
    page.get_by_role("button", name="Send and close the incident").click()
    assert page.locator("#current-step-title").inner_text() == "Resolved"
    screenshot(page, "06-closed")

    incident.refresh_from_db()
    assert (incident.stage, incident.status) == ("closed", "resolved")
    templates = list(incident.customer_updates.values_list("template", flat=True))
    assert templates == [
        "acknowledgement",
        "verification_code",
        "securing_advice",
        "escalated",
        "progress",
        "resolution",
    ]
    # The audit trail shows every step, on the history tab and in the viewer.
    sec.goto(f"{base}/incidents/{incident.pk}/history/")
    history = sec.locator("table").inner_text()
    for event in (
        "Incident opened",
        "Caller verified",
        "Playbook stage advanced",
        "Escalation claimed",
        "Incident closed",
        "Customer email sent",
    ):
        assert event in history, event
    screenshot(sec, "07-history")
    sec.goto(f"{base}/audit/?incident={incident.reference}")
    assert "Incident viewed" not in sec.locator("main table").inner_text()  # hidden unless asked
    assert "Escalation claimed" in sec.locator("main table").inner_text()
    sec.get_by_label("Show “viewed” entries").check()
    sec.get_by_role("button", name="Apply filters").click()
    assert "Incident viewed" in sec.locator("main table").inner_text()
    screenshot(sec, "08-audit-viewer")
    # The customer's emails reached the mail sink, in the customer's address.
    subjects = [m.subject for m in mail.outbox if m.to == ["kari@example.org"]]
    assert len(subjects) == 6, subjects
    # The same pages at phone width.
    phone_ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, storage_state=security_ctx.storage_state()
    )
    phone = phone_ctx.new_page()
    phone.goto(f"{base}/incidents/{incident.pk}/")
    assert phone.locator(".stepper").is_visible()
    screenshot(phone, "09-phone-incident")
    assert_fits(phone)
    phone.goto(base + "/queue/security/")
    screenshot(phone, "10-phone-queue")
    assert_fits(phone)
    phone_ctx.close()
    assert not csp_violations, csp_violations
    agent_ctx.close()
    security_ctx.close()
