"""The security queue with its clocks (one unclaimed critical escalation in red), the banner, the
breach report and the supervisor metrics page, in Chromium at desktop and phone width."""

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts import services as alerts
from breaches import services as breaches
from breaches.models import NotificationRule
from incidents import services, sla
from incidents.models import Incident, SlaPolicy
from tests.browser.test_playbook_journey import assert_fits, sign_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _restore_shipped_data():
    # Transactional tests flush the tables the data migration filled; put the rules back.
    # The migration reads models by their historical app; hand it today's.
    models = {"SlaPolicy": SlaPolicy, "NotificationRule": NotificationRule}

    class Current:
        def get_model(self, app_label, name):
            return models[name]

    importlib.import_module("incidents.migrations.0002_sla_clocks").ship_defaults(Current(), None)


def _escalated(actor, *, minutes_ago, severity, summary):
    with time_machine.travel(timezone.now() - timedelta(minutes=minutes_ago), tick=True):
        incident = services.open_incident(
            customer=CustomerFactory(), channel="phone", summary=summary, severity=severity, actor=actor
        )
        services.escalate(incident, to_team="security", reason=summary, severity=severity, actor=actor)
    return incident


def _history(actor):
    """Closed incidents of the last weeks, with step times, so the metrics page has data."""
    now = timezone.now()
    for index in range(12):
        opened = now - timedelta(days=index + 1, hours=index)
        incident = Incident.objects.create(
            customer=CustomerFactory(),
            channel="email",
            summary="Past incident",
            severity=index % 4 + 1,
            team=["tier1", "tier2", "security"][index % 3],
            stage="closed" if index % 3 else "communicate",
            status="resolved" if index % 3 else "open",
            opened_by=actor,
            updated_by=actor,
            created_at=opened,
            secured_at=opened + timedelta(minutes=5 + 3 * index),
            escalated_at=opened + timedelta(minutes=8 + 4 * index) if index % 2 else None,
            first_update_at=opened + timedelta(minutes=4 + 2 * index),
            closed_at=opened + timedelta(hours=3 + 5 * index) if index % 3 else None,
        )
        incident.save(update_fields=sla.apply_due_times(incident))


def test_security_queue_clocks_banner_breach_report_and_metrics(live_server, browser, screenshot):
    base = live_server.url
    _restore_shipped_data()
    tier1 = UserFactory(roles=["agent"], full_name="Alex Agent")
    security = UserFactory(roles=["security"], full_name="Sasha Security")
    supervisor = UserFactory(roles=["supervisor"], full_name="Sam Supervisor", is_staff=True)
    critical = _escalated(tier1, minutes_ago=22, severity=4, summary="Payout account changed, money moving")
    _escalated(tier1, minutes_ago=24, severity=3, summary="New device signed in abroad")
    _escalated(tier1, minutes_ago=3, severity=2, summary="Unknown login alert")
    _history(tier1)
    breach = breaches.mark_data_breach(
        critical,
        aware_at=timezone.now() - timedelta(hours=20),
        jurisdictions=["EU/EEA (GDPR)", "US: Ohio"],
        high_risk=True,
        description="Names and email addresses of 40 customers",
        actor=security,
    )
    breaches.record_obligation_met(
        breach.obligations.get(rule__code="gdpr-art34"),
        met_at=timezone.now() - timedelta(hours=2),
        how="email",
        note="Told the 40 customers by email",
        actor=security,
    )
    alerts.tick()

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    page.set_default_timeout(10_000)
    csp_violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_violations.append(m.text))
    sign_in(page, base, security)
    assert "Ran out:" in page.locator(".sla-banner").inner_text()
    page.goto(base + "/queue/security/")
    row = page.locator("#queue-items tbody tr", has_text=critical.reference).first
    assert "clock-late" in row.locator(".clock").get_attribute("class")
    assert "overdue" in row.locator(".clock").inner_text()
    assert page.locator("#queue-items .clock-warn").count() == 1  # the high one, 24 of 30 minutes gone
    assert page.locator("#queue-items .clock-ok").count() == 1
    screenshot(page, "01-security-queue-clocks")

    page.goto(base + f"/incidents/{critical.pk}/")
    assert "Art. 33: notify the supervisory authority" in page.locator("#breach").inner_text()
    page.locator("#sla").scroll_into_view_if_needed()
    screenshot(page, "02-incident-clocks-and-breach")
    page.goto(base + "/breaches/")
    report = page.locator("#breach-report").inner_text()
    assert "met" in report and "open" in report
    screenshot(page, "03-breach-report")

    page.goto(base + "/")
    assert "Escalations waiting to be claimed" in page.locator(".at-risk").inner_text()
    screenshot(page, "07-dashboard-at-risk")
    page.goto(base + "/incidents/")
    assert page.locator("tbody .clock-late").count() >= 1
    screenshot(page, "08-incident-list-clocks")

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, storage_state=desk.storage_state()
    ).new_page()
    phone.goto(base + "/queue/security/")
    screenshot(phone, "04-phone-security-queue")
    assert_fits(phone)

    boss = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    boss.on("console", lambda m: "Content Security Policy" in m.text and csp_violations.append(m.text))
    boss.set_default_timeout(10_000)
    sign_in(boss, base, supervisor)
    boss.get_by_role("link", name="Metrics").click()
    assert boss.locator("#metric-secure tbody tr").count() > 3
    assert boss.locator("svg.bar-chart rect.bar").count() > 5
    screenshot(boss, "05-metrics")
    with boss.expect_download() as download:
        boss.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("bulwark-metrics-")

    boss_phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, storage_state=boss.context.storage_state()
    ).new_page()
    boss_phone.goto(base + "/metrics/")
    screenshot(boss_phone, "06-phone-metrics")
    assert_fits(boss_phone)
    assert csp_violations == []
