"""Personal-data-breach deadlines: elapsed hours from awareness, across DST and time zones."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from alerts import services as alerts
from breaches import services as breaches
from breaches.models import BreachObligation, DataBreach, NotificationRule
from incidents.playbook import PlaybookError

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")
GDPR = "EU/EEA (GDPR)"


@pytest.fixture
def oslo(settings):
    settings.TIME_ZONE = "Europe/Oslo"
    timezone.activate(OSLO)
    yield
    timezone.deactivate()


def _mark(incident, actor, aware_at, jurisdictions=(GDPR,), high_risk=False, description=""):
    return breaches.mark_data_breach(
        incident,
        aware_at=aware_at,
        jurisdictions=list(jurisdictions),
        high_risk=high_risk,
        description=description,
        actor=actor,
    )


def _duty(breach, code):
    return breach.obligations.get(rule__code=code)


def test_the_rules_table_ships_gdpr_and_labelled_examples():
    art33 = NotificationRule.objects.get(code="gdpr-art33")
    art34 = NotificationRule.objects.get(code="gdpr-art34")
    assert (art33.hours, art33.is_example) == (72, False)
    assert (art34.hours, art34.high_risk_only, art34.period_label) == (
        None,
        True,
        "without undue delay (our target: 72 h)",
    )
    examples = NotificationRule.objects.filter(is_example=True)
    assert {"uk-gdpr-art33", "us-hipaa-individuals", "nis2-early-warning"} <= set(
        examples.values_list("code", flat=True)
    )
    assert NotificationRule.objects.get(code="us-hipaa-individuals").period_label == "60 days"


def test_a_breach_marked_at_10_has_its_72_hour_deadline_three_days_later(incident, security_agent, oslo):
    with time_machine.travel(datetime(2026, 6, 5, 12, 0, tzinfo=OSLO), tick=False):
        breach = _mark(incident, security_agent, datetime(2026, 6, 5, 10, 0, tzinfo=OSLO))
    duty = _duty(breach, "gdpr-art33")
    assert timezone.localtime(duty.due_at) == datetime(2026, 6, 8, 10, 0, tzinfo=OSLO)
    assert not breach.obligations.filter(rule__code="gdpr-art34").exists()  # not high risk


def test_72_hours_across_the_spring_dst_change_are_72_elapsed_hours_not_the_same_wall_time(
    incident, security_agent, oslo
):
    # Oslo moves clocks forward at 02:00 on Sunday 29 March 2026: Friday 10:00 CET + 72 h = Monday 11:00 CEST.
    aware = datetime(2026, 3, 27, 10, 0, tzinfo=OSLO)
    with time_machine.travel(aware + timedelta(hours=1), tick=False):
        breach = _mark(incident, security_agent, aware)
    due = _duty(breach, "gdpr-art33").due_at
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert timezone.localtime(due).strftime("%Y-%m-%d %H:%M %Z") == "2026-03-30 11:00 CEST"
    assert due - aware == timedelta(hours=72)


def test_72_hours_across_the_autumn_dst_change(incident, security_agent, oslo):
    aware = datetime(2026, 10, 23, 10, 0, tzinfo=OSLO)  # CEST; clocks go back on Sunday 25 October
    with time_machine.travel(aware + timedelta(hours=1), tick=False):
        breach = _mark(incident, security_agent, aware)
    due = timezone.localtime(_duty(breach, "gdpr-art33").due_at)
    assert due.strftime("%Y-%m-%d %H:%M %Z") == "2026-10-26 09:00 CET"


def test_awareness_typed_in_another_time_zone_gives_the_same_instant(incident, security_agent, oslo):
    new_york = datetime(2026, 3, 27, 5, 0, tzinfo=ZoneInfo("America/New_York"))  # = 10:00 Oslo
    with time_machine.travel(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), tick=False):
        breach = _mark(incident, security_agent, new_york)
    assert _duty(breach, "gdpr-art33").due_at == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_high_risk_adds_the_art34_duty_and_day_counts_are_days_of_24_hours(incident, security_agent):
    aware = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(aware, tick=False):
        breach = _mark(incident, security_agent, aware, jurisdictions=[GDPR, "US: Ohio"], high_risk=True)
    assert _duty(breach, "gdpr-art34").due_at == aware + timedelta(hours=72)
    assert _duty(breach, "us-oh-residents").due_at == aware + timedelta(days=45)


def test_obligations_end_met_late_or_open_and_the_report_says_so(client, verified_client, incident, security_agent):
    aware = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(aware, tick=False):
        breach = _mark(incident, security_agent, aware, jurisdictions=[GDPR, "US: Ohio"], high_risk=True)
    with time_machine.travel(aware + timedelta(hours=80), tick=False):
        breaches.record_obligation_met(
            _duty(breach, "gdpr-art33"), met_at=aware + timedelta(hours=70), how="portal",
            note="Filed with Datatilsynet, ref 2026-123", actor=security_agent,
        )  # fmt: skip
        breaches.record_obligation_met(
            _duty(breach, "gdpr-art34"), met_at=aware + timedelta(hours=79), how="email",
            note="Email to the 12 customers affected", actor=security_agent,
        )  # fmt: skip
        verified_client(security_agent)
        page = client.get(reverse("breaches:breach-report")).content.decode()
    assert [o.outcome for o in breach.obligations.order_by("rule__code")] == ["met", "late", "open"]
    assert page.count('clock-met">met</span>') == 1
    assert page.count("met late</span>") == 1
    assert page.count('class="outcome-open">open</span>') == 1
    assert incident.reference in page


def test_a_duty_is_closed_once_and_needs_a_note(incident, security_agent):
    aware = timezone.now() - timedelta(hours=1)
    duty = _duty(_mark(incident, security_agent, aware), "gdpr-art33")
    with pytest.raises(PlaybookError, match="Write a note"):
        breaches.record_obligation_met(duty, met_at=timezone.now(), how="portal", note=" ", actor=security_agent)
    with pytest.raises(PlaybookError, match="cannot precede"):
        breaches.record_obligation_met(
            duty, met_at=aware - timedelta(hours=1), how="portal", note="x", actor=security_agent
        )
    breaches.record_obligation_met(
        duty, met_at=timezone.now(), how="portal", note="Card 4111 1111 1111 1111 mentioned", actor=security_agent
    )
    duty.refresh_from_db()
    assert "4111 1111 1111 1111" not in duty.met_note and "1111" in duty.met_note
    with pytest.raises(PlaybookError, match="Already recorded"):
        breaches.record_obligation_met(duty, met_at=timezone.now(), how="portal", note="again", actor=security_agent)


def test_tier1_cannot_mark_a_breach(incident, tier1):
    with pytest.raises(PermissionDenied):
        _mark(incident, tier1, timezone.now())


def test_correcting_awareness_moves_open_deadlines_and_keeps_met_ones(incident, security_agent):
    aware = timezone.now() - timedelta(hours=10)
    breach = _mark(incident, security_agent, aware, jurisdictions=[GDPR, "EU (NIS2)"])
    early = _duty(breach, "nis2-early-warning")
    breaches.record_obligation_met(early, met_at=timezone.now(), how="email", note="Sent", actor=security_agent)
    _mark(incident, security_agent, aware - timedelta(hours=2), jurisdictions=[GDPR, "EU (NIS2)"])
    assert _duty(breach, "gdpr-art33").due_at == aware + timedelta(hours=70)
    assert _duty(breach, "nis2-early-warning").due_at == aware + timedelta(hours=24)  # met: unchanged
    assert DataBreach.objects.count() == 1


def test_the_form_refuses_bad_input_with_a_clear_message_and_keeps_what_was_typed(
    client, verified_client, incident, security_agent
):
    verified_client(security_agent)
    url = reverse("breaches:incident-breach", args=[incident.pk])
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"aware_at": future, "jurisdictions": [GDPR], "description": "Names and emails"})
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert "Names and emails" in response.content.decode()
    response = client.post(url, {"aware_at": "yesterday", "jurisdictions": []})
    assert response.status_code == 400
    assert "Enter a valid date/time" in response.content.decode()
    assert not DataBreach.objects.exists()


def test_marking_through_the_page_shows_the_countdown(client, verified_client, incident, security_agent):
    verified_client(security_agent)
    aware = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("breaches:incident-breach", args=[incident.pk]),
        {"aware_at": aware, "jurisdictions": [GDPR], "high_risk": "on"},
        follow=True,
    )
    page = response.content.decode()
    assert "Art. 33: notify the supervisory authority" in page
    assert "h left" in page  # 70 h of 72 left
    assert "(our target for “without undue delay”)" in page


def test_an_open_duty_alerts_the_security_team_before_and_when_it_runs_out(incident, security_agent, settings):
    from django.core import mail

    settings.TEAM_MAILBOXES = {**settings.TEAM_MAILBOXES, "security": "soc@bank.example"}
    aware = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(aware, tick=False):
        _mark(incident, security_agent, aware)
    mail.outbox.clear()
    for hours in (50, 55, 60, 73, 80):
        with time_machine.travel(aware + timedelta(hours=hours), tick=False):
            alerts.tick()
    subjects = [m.subject for m in mail.outbox if m.to == ["soc@bank.example"] and "breach notification" in m.subject]
    assert len(subjects) == 2
    assert "about to run out" in subjects[0] and "RAN OUT" in subjects[1]
    assert BreachObligation.objects.get().alerts.count() == 2


def test_a_refused_duty_form_keeps_the_note_under_its_duty(client, verified_client, incident, security_agent):
    breach = _mark(incident, security_agent, timezone.now() - timedelta(hours=3), jurisdictions=[GDPR, "US: Ohio"])
    duty = _duty(breach, "gdpr-art33")
    verified_client(security_agent)
    url = reverse("breaches:obligation-met", args=[incident.pk, duty.pk])
    before = (timezone.localtime() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"obligation": duty.pk, "met_at": before, "how": "portal", "note": "Filed, ref 77"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "cannot precede the time of awareness" in page
    assert "Filed, ref 77" in page
    assert f'id="id_met{duty.pk}_note"' in page
    duty.refresh_from_db()
    assert duty.met_at is None
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"obligation": duty.pk, "met_at": now, "how": "portal", "note": "Filed, ref 77"})
    assert response.status_code == 302
    duty.refresh_from_db()
    assert duty.outcome == "met"


def test_a_duty_of_another_incident_is_not_reachable_through_this_one(client, verified_client, security_agent, tier1):
    from tests.factories import IncidentFactory

    other = IncidentFactory()
    duty = _duty(_mark(other, security_agent, timezone.now()), "gdpr-art33")
    mine = IncidentFactory()
    verified_client(security_agent)
    response = client.post(reverse("breaches:obligation-met", args=[mine.pk, duty.pk]), {})
    assert response.status_code == 404


def test_the_breach_report_runs_the_same_queries_for_5_and_50_breaches(client, verified_client, security_agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import IncidentFactory

    verified_client(security_agent)
    counts = []
    for n in (5, 45):
        for _ in range(n):
            _mark(IncidentFactory(), security_agent, timezone.now(), jurisdictions=[GDPR, "US: Ohio"], high_risk=True)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("breaches:breach-report")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_edits_of_the_sla_policy_and_the_rules_are_recorded_by_auditlog(client, verified_client):
    from auditlog.models import LogEntry

    from incidents.models import SlaPolicy
    from tests.factories import UserFactory

    admin = UserFactory(roles=["supervisor"], is_staff=True, is_superuser=True)
    verified_client(admin, reauthenticated=True)
    policy = SlaPolicy.objects.get(severity=4)
    response = client.post(
        reverse("admin:incidents_slapolicy_change", args=[policy.pk]),
        {"severity": 4, "first_update_minutes": 10, "claim_minutes": 15, "resolve_minutes": 1440, "warn_percent": 80},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    entry = LogEntry.objects.get_for_object(policy).latest("pk")
    assert entry.actor == admin
    assert [str(v) for v in entry.changes_dict["first_update_minutes"]] == ["15", "10"]
    rule = NotificationRule.objects.get(code="us-oh-residents")
    rule.active = False
    rule.save()
    assert LogEntry.objects.get_for_object(rule).exists()


def test_a_corrected_awareness_time_clears_the_old_ran_out_and_alerts_the_new_deadline(
    client, verified_client, incident, security_agent
):
    aware = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(aware, tick=False):
        _mark(incident, security_agent, aware)
    with time_machine.travel(aware + timedelta(hours=73), tick=False):
        alerts.tick()
        # Awareness was really ten hours later: the duty now runs out at aware + 82 h.
        _mark(incident, security_agent, aware + timedelta(hours=10))
    with time_machine.travel(aware + timedelta(hours=74), tick=False):
        verified_client(security_agent)
        page = client.get(reverse("incidents:dashboard")).content.decode()
    assert "Ran out:" not in page
    with time_machine.travel(aware + timedelta(hours=83), tick=False):
        alerts.tick()
        verified_client(security_agent)
        page = client.get(reverse("incidents:dashboard")).content.decode()
    assert "Ran out:" in page
    duty = BreachObligation.objects.get()
    assert list(duty.alerts.filter(kind="breached").values_list("due_at", flat=True).order_by("due_at")) == [
        aware + timedelta(hours=72),
        aware + timedelta(hours=82),
    ]


def test_tier1_and_tier2_see_the_duties_but_not_the_description_or_the_notes(
    client, verified_client, incident, security_agent, tier1
):
    from tests.factories import UserFactory

    breach = _mark(incident, security_agent, timezone.now() - timedelta(hours=3), description="Names and IBANs of 40")
    duty = _duty(breach, "gdpr-art33")
    breaches.record_obligation_met(
        duty, met_at=timezone.now(), how="portal", note="Filed, ref DPA-77", actor=security_agent
    )
    url = reverse("incidents:incident-detail", args=[incident.pk])
    for agent in (tier1, UserFactory(roles=["tier2"])):
        verified_client(agent)
        page = client.get(url).content.decode()
        assert "Art. 33: notify the supervisory authority" in page
        assert "Names and IBANs" not in page and "DPA-77" not in page
        client.logout()
    verified_client(security_agent)
    page = client.get(url).content.decode()
    assert "Names and IBANs" in page and "DPA-77" in page
