"""SLA clocks and breach alerts, with time under control (time-machine)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse

from alerts import services as alerts
from alerts.models import SlaAlert
from audit.models import AuditEntry
from incidents import services, sla
from incidents.models import Incident, SlaPolicy
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _open(actor, severity=4, **kwargs):
    customer = CustomerFactory(display_name="Kari Nordmann", email="kari@example.org")
    return services.open_incident(
        customer=customer, channel="phone", summary="Card 4111 1111 1111 1111 payout changed", severity=severity,
        actor=actor, **kwargs,
    )  # fmt: skip


def test_the_shipped_policy_puts_critical_at_15_minutes_and_the_admin_can_change_it(tier1):
    critical = SlaPolicy.objects.get(severity=4)
    assert (critical.first_update_minutes, critical.claim_minutes, critical.resolve_minutes) == (15, 15, 24 * 60)
    assert SlaPolicy.objects.count() == 4
    SlaPolicy.objects.filter(severity=4).update(first_update_minutes=5)
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1)
    assert incident.first_update_due_at == T0 + timedelta(minutes=5)
    assert incident.resolve_due_at == T0 + timedelta(hours=24)


def test_a_clock_turns_amber_then_red_and_stops_when_met(tier1):
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=4)
    due, warn = incident.first_update_due_at, incident.first_update_warn_at
    assert (due, warn) == (T0 + timedelta(minutes=15), T0 + timedelta(minutes=15) * 0.75)
    assert sla.clock_state(due, warn, None, now=T0 + timedelta(minutes=5)).state == "ok"
    assert sla.clock_state(due, warn, None, now=T0 + timedelta(minutes=5)).label == "10 min left"
    assert sla.clock_state(due, warn, None, now=T0 + timedelta(minutes=12)).state == "warn"
    late = sla.clock_state(due, warn, None, now=T0 + timedelta(minutes=47))
    assert (late.state, late.label) == ("late", "32 min overdue")
    assert sla.clock_state(due, warn, T0 + timedelta(minutes=14), now=T0 + timedelta(hours=3)).state == "met"
    assert sla.clock_state(due, warn, T0 + timedelta(minutes=20), now=T0).label == "met 5 min late"


def test_the_acknowledgement_does_not_stop_the_first_update_clock_but_an_agent_update_does(tier1):
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=2)
    assert incident.customer_updates.filter(template="acknowledgement").exists()
    assert Incident.objects.get(pk=incident.pk).first_update_at is None
    with time_machine.travel(T0 + timedelta(minutes=7), tick=False):
        services.send_progress_update(incident, message="We are on it.", actor=tier1)
    with time_machine.travel(T0 + timedelta(minutes=9), tick=False):
        services.send_progress_update(incident, message="Still on it.", actor=tier1)
    assert Incident.objects.get(pk=incident.pk).first_update_at == T0 + timedelta(minutes=7)


def test_escalating_with_a_higher_severity_brings_the_deadlines_forward(tier1):
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=1)
    assert incident.first_update_due_at == T0 + timedelta(hours=8)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        escalation = services.escalate(incident, to_team="security", reason="Takeover", severity=4, actor=tier1)
    incident.refresh_from_db()
    # Measured from the incident's opening with the critical policy: already 10 of 15 minutes gone.
    assert incident.first_update_due_at == T0 + timedelta(minutes=15)
    assert incident.resolve_due_at == T0 + timedelta(hours=24)
    assert escalation.claim_due_at == T0 + timedelta(minutes=25)
    assert incident.escalated_at == T0 + timedelta(minutes=10)


def test_change_severity_moves_the_clocks_of_the_incident_and_its_waiting_escalation(tier1):
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=2)
        escalation = services.escalate(incident, to_team="tier2", reason="Help", severity=2, actor=tier1)
    assert escalation.claim_due_at == T0 + timedelta(hours=4)
    services.change_severity(incident, severity=3, reason="Campaign detected", actor=tier1)
    escalation.refresh_from_db()
    incident.refresh_from_db()
    assert (incident.severity, escalation.severity) == (3, 3)
    assert escalation.claim_due_at == T0 + timedelta(minutes=30)
    assert incident.first_update_due_at == T0 + timedelta(minutes=30)


@pytest.fixture
def critical_waiting(tier1, settings):
    settings.TEAM_MAILBOXES = {**settings.TEAM_MAILBOXES, "security": "soc@bank.example"}
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=4)
        # The escalation email stops the first-update clock; only the claim clock keeps running.
        escalation = services.escalate(incident, to_team="security", reason="Takeover", severity=4, actor=tier1)
    mail.outbox.clear()
    return escalation


def _security_mail():
    return [m for m in mail.outbox if m.to == ["soc@bank.example"]]


def test_unclaimed_critical_escalation_notifies_the_security_mailbox_once_per_kind(critical_waiting):
    for minute in (5, 11, 12, 13):  # before, then past the amber mark (11:15)
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            alerts.tick()
    assert [m.subject for m in _security_mail()] == [
        f"[Bulwark] SLA about to run out: {critical_waiting.incident.reference} claim of the escalation (Critical)"
    ]
    for minute in (15, 16, 30, 90):
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            alerts.tick()
    subjects = [m.subject for m in _security_mail()]
    assert len(subjects) == 2
    assert subjects[1].startswith("[Bulwark] SLA RAN OUT:")
    assert SlaAlert.objects.filter(escalation=critical_waiting).count() == 2
    assert AuditEntry.objects.filter(action="sla.alert_raised").count() == 2
    assert AuditEntry.objects.filter(action="sla.alert_emailed").count() == 2


def test_the_team_email_names_no_customer_and_quotes_no_typed_text(critical_waiting):
    with time_machine.travel(T0 + timedelta(minutes=16), tick=False):
        alerts.tick()
    (message,) = _security_mail()
    text = message.subject + message.body
    for secret in ("Kari", "Nordmann", "kari@example.org", "4111", "1111", "payout", "Takeover"):
        assert secret not in text
    assert f"/incidents/{critical_waiting.incident_id}/" in message.body


def test_after_the_beat_was_down_the_missed_breach_is_sent_once_without_a_stale_warning(critical_waiting):
    with time_machine.travel(T0 + timedelta(hours=6), tick=False):
        first = alerts.tick()
        second = alerts.tick()
    assert (first["raised"], second["raised"]) == (1, 0)
    (message,) = _security_mail()
    assert "RAN OUT" in message.subject
    assert SlaAlert.objects.get(escalation=critical_waiting).kind == "breached"


def test_a_claimed_escalation_raises_nothing(critical_waiting, security_agent):
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        services.claim_escalation(critical_waiting, actor=security_agent)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        alerts.tick()
    assert not SlaAlert.objects.filter(clock="claim").exists()


def test_an_email_that_fails_is_sent_by_the_next_tick_and_only_once(critical_waiting, monkeypatch):
    from django.core.mail import EmailMessage

    original = EmailMessage.send
    monkeypatch.setattr(EmailMessage, "send", lambda self, fail_silently=False: (_ for _ in ()).throw(OSError("down")))
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        assert alerts.tick() == {"raised": 1, "emailed": 0}
    monkeypatch.setattr(EmailMessage, "send", original)
    with time_machine.travel(T0 + timedelta(minutes=21), tick=False):
        assert alerts.tick() == {"raised": 0, "emailed": 1}
        assert alerts.tick() == {"raised": 0, "emailed": 0}
    assert len(_security_mail()) == 1
    assert SlaAlert.objects.get().email_attempts == 2


def test_the_banner_shows_for_the_security_team_and_not_for_tier1(client, verified_client, critical_waiting, tier1):
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        alerts.tick()
    verified_client(UserFactory(roles=["security"]))
    page = client.get(reverse("incidents:dashboard")).content.decode()
    assert "Ran out:" in page and critical_waiting.incident.reference in page
    client.logout()
    verified_client(tier1)
    assert "Ran out:" not in client.get(reverse("incidents:dashboard")).content.decode()


def test_the_banner_goes_once_the_escalation_is_claimed(client, verified_client, critical_waiting, security_agent):
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        alerts.tick()
    services.claim_escalation(critical_waiting, actor=security_agent)
    verified_client(security_agent)
    assert "Ran out:" not in client.get(reverse("incidents:dashboard")).content.decode()


def test_the_queue_shows_the_unclaimed_critical_escalation_in_red(client, verified_client, critical_waiting):
    verified_client(UserFactory(roles=["security"]))
    with time_machine.travel(T0 + timedelta(minutes=12), tick=False):
        amber = client.get(reverse("incidents:queue-items", args=["security"])).content.decode()
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        red = client.get(reverse("incidents:queue-items", args=["security"])).content.decode()
    assert 'class="clock clock-warn"' in amber and "3 min left" in amber
    assert 'class="clock clock-late"' in red and "5 min overdue" in red


def test_the_dashboard_lists_what_is_at_risk(client, verified_client, critical_waiting, supervisor_agent):
    verified_client(supervisor_agent)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        calm = client.get(reverse("incidents:dashboard")).content.decode()
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        page = client.get(reverse("incidents:dashboard")).content.decode()
    assert "At risk" not in calm
    assert "At risk" in page and "Escalations waiting to be claimed" in page


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ticks_on_postgresql_alert_and_email_once(postgres, settings):
    settings.TEAM_MAILBOXES = {**settings.TEAM_MAILBOXES, "security": "soc@bank.example"}
    requester = UserFactory(roles=["agent"])
    with time_machine.travel(T0, tick=False):
        incident = services.open_incident(
            customer=CustomerFactory(), channel="chat", summary="x", severity=4, actor=requester
        )
        services.escalate(incident, to_team="security", reason="Critical", severity=4, actor=requester)
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(alerts.tick())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sum(r["raised"] for r in results) == SlaAlert.objects.count()
    assert SlaAlert.objects.filter(clock="claim").count() == 1
    assert len([m for m in mail.outbox if "SLA RAN OUT" in m.subject and "claim of the escalation" in m.subject]) == 1
    assert all(alert.emailed_at for alert in SlaAlert.objects.all())
    assert len(mail.outbox) == SlaAlert.objects.count()


def test_the_beat_schedule_runs_the_tick_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sla-breach-tick"]
    assert (entry["task"], entry["schedule"]) == ("incidents.tasks.sla_breach_tick", 60.0)
    from alerts.tasks import sla_breach_tick

    assert sla_breach_tick.name == entry["task"]
    assert sla_breach_tick.delay().get() == {"raised": 0, "emailed": 0}  # eager in tests: nothing due


# --- Deadlines that move --------------------------------------------------------------------


def _banner(client, verified_client, agent, at):
    verified_client(agent)
    with time_machine.travel(at, tick=False):
        return client.get(reverse("incidents:dashboard")).content.decode()


def test_a_lowered_severity_clears_the_old_ran_out_and_the_new_deadline_alerts_again(
    client, verified_client, critical_waiting, security_agent
):
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        alerts.tick()
    assert "Ran out:" in _banner(client, verified_client, security_agent, T0 + timedelta(minutes=21))
    with time_machine.travel(T0 + timedelta(minutes=21), tick=False):
        services.change_severity(critical_waiting.incident, severity=2, reason="Not a takeover", actor=security_agent)
    # Medium: four hours to claim, from the request at T0.
    assert "Ran out:" not in _banner(client, verified_client, security_agent, T0 + timedelta(minutes=22))
    mail.outbox.clear()
    with time_machine.travel(T0 + timedelta(hours=4, minutes=1), tick=False):
        assert alerts.tick()["raised"] == 1
    (message,) = _security_mail()
    assert "RAN OUT" in message.subject and "(Medium)" in message.subject
    assert "Ran out:" in _banner(client, verified_client, security_agent, T0 + timedelta(hours=4, minutes=2))
    assert SlaAlert.objects.filter(escalation=critical_waiting, kind="breached").count() == 2


def test_a_reopened_incident_gets_a_new_resolve_allowance_from_the_reopen(tier1, supervisor_agent):
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=4)
        services.send_progress_update(incident, message="We are on it.", actor=tier1)
        incident.refresh_from_db()
        services.close_not_confirmed(
            incident, reason="The customer did it", actor=tier1, expected_version=incident.version
        )
    reopened_at = T0 + timedelta(days=3)
    with time_machine.travel(reopened_at, tick=False):
        services.reopen_incident(incident, reason="It happened again", actor=supervisor_agent)
    incident.refresh_from_db()
    assert incident.clock_started_at == reopened_at
    assert incident.resolve_due_at == reopened_at + timedelta(hours=24)
    # The first-update clock is not restarted: it was met in the first run and stays met.
    assert incident.first_update_due_at == T0 + timedelta(minutes=15)
    row_label, row_clock = sla.incident_clock(incident, now=reopened_at + timedelta(minutes=1))
    assert (row_label, row_clock.state) == ("Resolve", "ok")
    with time_machine.travel(reopened_at + timedelta(minutes=1), tick=False):
        assert alerts.tick()["raised"] == 0


def test_the_old_resolve_alert_does_not_show_after_a_reopen_and_the_new_deadline_alerts(
    client, verified_client, tier1, supervisor_agent
):
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=4)
        services.send_progress_update(incident, message="We are on it.", actor=tier1)
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        alerts.tick()
        incident.refresh_from_db()
        services.close_not_confirmed(
            incident, reason="The customer did it", actor=tier1, expected_version=incident.version
        )
        services.reopen_incident(incident, reason="It happened again", actor=supervisor_agent)
    assert "Ran out:" not in _banner(client, verified_client, tier1, T0 + timedelta(hours=26))
    with time_machine.travel(T0 + timedelta(hours=50), tick=False):
        assert alerts.tick()["raised"] == 1
    assert "Ran out:" in _banner(client, verified_client, tier1, T0 + timedelta(hours=50))


def test_alerts_of_a_restricted_incident_go_to_the_security_team_not_its_team(tier1, security_agent, settings):
    settings.TEAM_MAILBOXES = {"tier1": "t1@bank.example", "tier2": "t2@bank.example", "security": "soc@bank.example"}
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=4)
        services.set_restricted(incident, restricted=True, reason="Staff member's account", actor=security_agent)
    mail.outbox.clear()
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        alerts.tick()
    assert [m.to for m in mail.outbox] == [["soc@bank.example"]]
    assert SlaAlert.objects.get().team == "security"


def test_a_restricted_incident_alert_raised_before_the_restriction_is_emailed_to_security(
    tier1, security_agent, settings, monkeypatch
):
    settings.TEAM_MAILBOXES = {"tier1": "t1@bank.example", "tier2": "t2@bank.example", "security": "soc@bank.example"}
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=4)
    mail.outbox.clear()
    monkeypatch.setattr(alerts, "send_pending_emails", lambda limit=200: 0)
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        alerts.tick()
    monkeypatch.undo()
    services.set_restricted(incident, restricted=True, reason="Staff member's account", actor=security_agent)
    alerts.send_pending_emails()
    assert [m.to for m in mail.outbox] == [["soc@bank.example"]]


def test_a_closed_incident_without_any_update_stops_its_first_update_clock(client, verified_client, tier1):
    with time_machine.travel(T0, tick=False):
        incident = _open(tier1, severity=4)
        services.close_not_confirmed(
            incident, reason="The customer did it", actor=tier1, expected_version=incident.version
        )
    incident.refresh_from_db()
    clocks = dict(sla.incident_clocks(incident, None, now=T0 + timedelta(days=2)))
    assert "First customer update" not in clocks
    assert clocks["Resolve"].state == "met"
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        verified_client(tier1)
        page = client.get(reverse("incidents:incident-detail", args=[incident.pk])).content.decode()
    assert "overdue" not in page


def test_print_pages_hide_the_sla_banner_and_the_navigation():
    import re

    from django.conf import settings

    css = (settings.BASE_DIR / "static" / "css" / "bulwark.css").read_text()
    print_block = css[css.index("@media print") :]
    hidden = re.search(r"([^{}]+)\{\s*display:\s*none", print_block).group(1)
    assert {".sla-banner", ".topbar", ".skip-link"} <= {s.strip() for s in hidden.split(",")}


def test_the_deploy_migration_fills_the_clocks_of_what_was_already_open(tier1):
    """Incidents and escalations open before the SLA columns existed get their due times."""
    import importlib

    from django.apps import apps

    from incidents.models import Escalation
    from tests.factories import CustomerFactory

    fill = importlib.import_module("incidents.migrations.0005_clock_started_at_fill_due_times").fill_due_times
    SlaPolicy.objects.filter(severity=3).update(first_update_minutes=45)
    # Rows as the release before the clocks wrote them: no due times (the migration fills them).
    customer = CustomerFactory()
    waiting = Incident.objects.create(
        customer=customer, channel="phone", summary="s", severity=3, created_at=T0, opened_by=tier1, updated_by=tier1
    )
    Escalation.objects.create(
        incident=waiting, from_team="tier1", to_team="tier2", severity=3, reason="Help", requested_by=tier1,
        requested_at=T0 + timedelta(hours=1),
    )  # fmt: skip
    closed = Incident.objects.create(
        customer=customer, channel="phone", summary="s", severity=4, created_at=T0,
        status="resolved", closed_at=T0 + timedelta(hours=2), opened_by=tier1, updated_by=tier1,
    )  # fmt: skip
    fill(apps, None)
    waiting.refresh_from_db()
    assert waiting.first_update_due_at == T0 + timedelta(minutes=45)
    assert waiting.resolve_due_at == T0 + timedelta(days=3)
    assert waiting.clock_started_at == T0
    assert waiting.escalations.get().claim_due_at == T0 + timedelta(hours=1, minutes=30)
    closed.refresh_from_db()
    assert closed.resolve_due_at is None  # a closed incident keeps no clock: it was never measured
    label, clock = sla.incident_clock(waiting, now=T0 + timedelta(minutes=40))
    assert (label, clock.state) == ("First update", "warn")


def test_the_sla_tick_command_raises_and_emails_like_the_beat_task(critical_waiting):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        call_command("sla_tick", stdout=out)
        call_command("sla_tick", stdout=out)
    assert out.getvalue().splitlines() == [
        "SLA tick: 1 alerts raised, 1 emailed.",
        "SLA tick: 0 alerts raised, 0 emailed.",
    ]
    (message,) = _security_mail()
    assert "RAN OUT" in message.subject
