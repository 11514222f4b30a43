"""The agent-experience points in Chromium: a refusal from a stale tab is visible with what was
typed; who holds the incident moves with the escalation; the customer directory and the warning
before a second incident; a reply snippet in the customer's language inserted by a click; the
timeline; the audit viewer by reference."""

import pytest

from incidents import services
from tests.browser.test_playbook_journey import assert_fits, sign_in
from tests.desk import fresh, walk_to
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refusals_ownership_customers_snippets_and_timeline(live_server, browser, screenshot, reply_snippets):
    base = live_server.url
    tier1 = UserFactory(roles=["agent"], full_name="Alex Agent")
    security = UserFactory(roles=["security"], full_name="Sasha Security")
    supervisor = UserFactory(roles=["supervisor", "security"], full_name="Sam Supervisor")
    customer = CustomerFactory(display_name="Jürgen Weber", email="juergen@example.de", account_reference="ACC-5150",
                               language="de")  # fmt: skip
    incident = services.open_incident(customer=customer, channel="phone", summary="Payee", severity=2, actor=tier1)

    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = agent_ctx.new_page()
    page.set_default_timeout(12_000)
    sign_in(page, base, tier1)

    # A stale tab: someone else saved the findings meanwhile.
    walked = walk_to(incident, "investigate", tier1)
    page.goto(f"{base}/incidents/{walked.pk}/")
    page.wait_for_load_state("networkidle")
    page.evaluate("document.getElementById('presence-ping').remove()")  # its pings stop (see below)
    services.record_findings(fresh(walked), findings="Other tab", actor=tier1, expected_version=fresh(walked).version)
    page.get_by_role("textbox", name="Findings").fill("Logins from a Tor exit node at 02:10")
    page.get_by_role("button", name="Save findings").click()
    refusal = page.locator("#refusal")
    assert "Not saved: Save findings" in refusal.inner_text()
    assert "changed meanwhile" in refusal.inner_text()
    assert page.get_by_role("textbox", name="Findings").input_value() == "Logins from a Tor exit node at 02:10"
    screenshot(page, "01-refusal")

    # Ownership: escalated, claimed by security, resolved: back with the agent who escalated.
    # (The test writes beside the server: away from the incident page, whose presence pings write
    # too, as the in-memory SQLite of the suite takes one writer at a time.)
    page.goto("about:blank")
    escalation = services.escalate(fresh(walked), to_team="security", reason="Tor", severity=3, actor=tier1)
    page.goto(f"{base}/incidents/{walked.pk}/")
    assert "waiting in the Security team queue to be claimed" in page.locator("#held-by").inner_text()
    page.goto("about:blank")
    services.claim_escalation(escalation, actor=security)
    page.goto(f"{base}/incidents/{walked.pk}/")
    assert "Sasha Security" in page.locator("#held-by").inner_text()
    page.goto("about:blank")
    services.resolve_escalation(escalation, outcome="Payee removed", actor=security)
    page.goto(f"{base}/incidents/{walked.pk}/")
    assert "Alex Agent (you)" in page.locator("#held-by").inner_text()
    # The timeline tells the story, newest first.
    timeline = page.locator("#timeline").inner_text()
    assert timeline.index("Escalation resolved") < timeline.index("Escalation claimed") < timeline.index("Escalated")

    # Customers: search, their page, the warning before a second incident.
    page.goto(f"{base}/customers/")
    page.get_by_label("Name, email of record or account reference").fill("juergen@")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Jürgen Weber").click()
    assert walked.reference in page.locator("main").inner_text()
    page.get_by_role("link", name="Open an incident for this customer").click()
    assert walked.reference in page.locator("#already-open").inner_text()
    page.get_by_label("Summary").fill("Another matter")
    page.get_by_role("button", name="Open incident").click()
    assert page.locator("#already-open").is_visible()  # asked again, text kept
    assert page.get_by_label("Summary").input_value() == "Another matter"
    screenshot(page, "02-already-open")

    # A snippet in German, with the customer's name and the reference, inserted by choosing it.
    page.goto("about:blank")
    communicating = walk_to(fresh(walked), "communicate", tier1)
    page.goto(f"{base}/incidents/{communicating.pk}/")
    page.get_by_label("Insert a reply snippet (Deutsch)").first.select_option(label="Untersuchung läuft")
    message = page.get_by_label("Progress update for the customer").input_value()
    assert message.startswith("Guten Tag Jürgen Weber") and communicating.reference in message
    screenshot(page, "03-snippet")

    # The audit viewer by reference, on a phone.
    sup_ctx = browser.new_context(viewport={"width": 390, "height": 844})
    sup = sup_ctx.new_page()
    sign_in(sup, base, supervisor)
    sup.goto(f"{base}/audit/?incident={walked.reference}")
    assert "Escalation resolved" in sup.locator("main").inner_text()
    assert "Incident viewed" not in sup.locator("main table").inner_text()
    sup.get_by_role("link", name=walked.reference).first.click()
    assert sup.url.endswith(f"/incidents/{walked.pk}/")
    assert_fits(sup)
    agent_ctx.close()
    sup_ctx.close()
