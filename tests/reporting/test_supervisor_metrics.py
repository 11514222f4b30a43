"""Supervisor metrics against a fixture whose figures were worked out by hand (see each comment).

Percentiles are continuous: p(f) of n sorted values sits at position f x (n - 1), interpolating
linearly between the two neighbours (PostgreSQL's percentile_cont).
"""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEntry
from incidents import sla
from incidents.models import Escalation
from reporting import metrics
from reporting import services as reporting_services
from tests.factories import IncidentRowFactory, UserFactory

pytestmark = pytest.mark.django_db

OPEN = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START, END = date(2026, 5, 1), date(2026, 5, 31)


def m(minutes):
    return timedelta(minutes=minutes)


def _incident(severity, team, stage, *, secured, escalated=None, first_update=None, closed=None, created=OPEN):
    incident = IncidentRowFactory(
        severity=severity,
        team=team,
        stage=stage,
        status="resolved" if closed is not None else "open",
        created_at=created,
        closed_at=created + m(closed) if closed is not None else None,
        secured_at=created + m(secured) if secured is not None else None,
        escalated_at=created + m(escalated) if escalated is not None else None,
        first_update_at=created + m(first_update) if first_update is not None else None,
    )
    incident.save(update_fields=sla.apply_due_times(incident))
    return incident


def _escalation(incident, to_team, *, requested, claimed=None):
    requested_at = incident.created_at + m(requested)
    escalation = Escalation(
        incident=incident,
        from_team="tier1",
        to_team=to_team,
        severity=incident.severity,
        reason="r",
        requested_by=incident.opened_by,
        requested_at=requested_at,
        status="claimed" if claimed is not None else "open",
        claimed_by=incident.opened_by if claimed is not None else None,
        claimed_at=incident.created_at + m(claimed) if claimed is not None else None,
    )
    sla.apply_due_times(incident, escalation)
    escalation.save()
    return escalation


@pytest.fixture
def fixture():
    a = _incident(4, "security", "closed", secured=10, escalated=5, first_update=4, closed=60)
    b = _incident(4, "security", "closed", secured=20, escalated=15, first_update=20, closed=300)
    c = _incident(3, "tier2", "escalate", secured=30, escalated=40, first_update=10)
    _incident(2, "tier1", "closed", secured=40, first_update=90, closed=2 * 24 * 60)
    _incident(2, "tier1", "investigate", secured=100)
    # Opened the day before the range: counted nowhere.
    outside = _incident(
        4,
        "security",
        "closed",
        secured=1,
        escalated=1,
        first_update=1,
        closed=2,
        created=datetime(2026, 4, 30, 20, 0, tzinfo=UTC),
    )
    _escalation(a, "security", requested=5, claimed=8)  # waited 3 min (due 15): met
    _escalation(b, "security", requested=15, claimed=45)  # waited 30 min: late
    _escalation(c, "tier2", requested=40)  # never claimed; due 30 min after: overdue
    _escalation(outside, "security", requested=1, claimed=2)


def _check(result):
    steps = {step["key"]: step for step in result.steps}
    assert result.opened == 5
    secure = steps["secure"]
    # [10, 20, 30, 40, 100]: p50 = 30; p90 at 3.6 = 40 + 0.6 x 60 = 76.
    assert (secure["all"].count, secure["all"].p50, secure["all"].p90) == (5, m(30), m(76))
    # critical [10, 20]: 15, 10 + 0.9 x 10 = 19; high [30]; medium [40, 100]: 70, 94.
    assert {k: (v.p50, v.p90) for k, v in secure["severity"].items()} == {
        4: (m(15), m(19)), 3: (m(30), m(30)), 2: (m(70), m(94)),
    }  # fmt: skip
    assert {k: (v.count, v.p50) for k, v in secure["team"].items()} == {
        "security": (2, m(15)), "tier2": (1, m(30)), "tier1": (2, m(70)),
    }  # fmt: skip
    # Escalate [5, 15, 40]: p50 15; p90 at 1.8 = 15 + 0.8 x 25 = 35.
    assert (steps["escalate"]["all"].p50, steps["escalate"]["all"].p90) == (m(15), m(35))
    # First update [4, 10, 20, 90]: p50 at 1.5 = 15; p90 at 2.7 = 20 + 0.7 x 70 = 69.
    assert (steps["first_update"]["all"].count, steps["first_update"]["all"].p50) == (4, m(15))
    assert steps["first_update"]["all"].p90 == m(69)
    # Resolve (resolved only) [60, 300, 2880]: p50 300; p90 at 1.8 = 300 + 0.8 x 2580 = 2364.
    assert (steps["resolve"]["all"].p50, steps["resolve"]["all"].p90) == (m(300), m(2364))
    assert steps["resolve"]["team"]["security"].p90 == m(60 + 0.9 * 240)

    compliance = {row["severity"]: row["clocks"] for row in result.compliance}
    # First update: critical 1 met, 1 late; high 1 met; medium 1 met, 1 overdue; low nothing.
    assert compliance[4]["first_update"] == {"met": 1, "breached": 1, "pending": 0, "percent": 50.0}
    assert compliance[3]["first_update"]["percent"] == 100.0
    assert compliance[2]["first_update"] == {"met": 1, "breached": 1, "pending": 0, "percent": 50.0}
    assert compliance[1]["first_update"]["percent"] is None
    # Resolve: both criticals within 24 h; high still open past 72 h; medium one of two.
    assert [compliance[s]["resolve"]["percent"] for s in (4, 3, 2)] == [100.0, 0.0, 50.0]
    # Claim: critical one met and one late; high (tier 2) overdue.
    assert compliance[4]["claim"] == {"met": 1, "breached": 1, "pending": 0, "percent": 50.0}
    assert compliance[3]["claim"] == {"met": 0, "breached": 1, "pending": 0, "percent": 0.0}

    escalations = {row["team"]: row for row in result.escalations}
    assert (escalations["security"]["count"], escalations["security"]["claimed"]) == (2, 2)
    assert (escalations["tier2"]["count"], escalations["tier2"]["claimed"]) == (1, 0)
    # Waits to claim [3, 30]: p50 16.5; p90 3 + 0.9 x 27 = 27.3.
    assert escalations["security"]["claim"].p50 == m(16.5)
    assert escalations["security"]["claim"].p90 == m(27.3)
    stages = {row["stage"]: row["count"] for row in result.stages}
    assert (stages["closed"], stages["escalate"], stages["investigate"], stages["confirm"]) == (3, 1, 1, 0)


def test_metrics_match_the_hand_computed_fixture_on_the_configured_database(fixture):
    _check(metrics.supervisor_metrics(START, END, now=NOW))


def test_the_python_percentiles_match_the_fixture_on_any_database(fixture):
    _check(metrics.supervisor_metrics(START, END, now=NOW, native=False))


def test_postgresql_percentile_cont_matches_the_fixture(postgres, fixture):
    _check(metrics.supervisor_metrics(START, END, now=NOW, native=True))


def test_interpolation_is_percentile_cont():
    assert metrics.interpolated([m(1)], 0.9) == m(1)
    assert metrics.interpolated([m(1), m(2), m(3), m(4)], 0.5) == m(2.5)
    assert metrics.interpolated([], 0.5) is None


def test_an_empty_range_shows_no_data_rather_than_failing(client, verified_client, supervisor_agent):
    verified_client(supervisor_agent)
    response = client.get(reverse("reporting:metrics"), {"start": "2020-01-01", "end": "2020-01-31"})
    assert response.status_code == 200
    assert "no data" in response.content.decode()


def test_the_metrics_page_shows_tables_and_svg_charts(client, verified_client, fixture):
    verified_client(UserFactory(roles=["supervisor"]))
    page = client.get(reverse("reporting:metrics"), {"start": "2026-05-01", "end": "2026-05-31"}).content.decode()
    assert "Time to secure (opened → step 2 completed)" in page
    assert '<svg class="bar-chart"' in page
    assert "<style" not in page and "style=" not in page  # the CSP forbids inline styles
    assert "1 h 16 min" in page  # p90 of time to secure, 76 min


def test_bad_ranges_are_refused_with_a_message(client, verified_client, supervisor_agent):
    verified_client(supervisor_agent)
    response = client.get(reverse("reporting:metrics"), {"start": "2026-05-31", "end": "2026-05-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = client.get(reverse("reporting:metrics-csv"), {"start": "nonsense", "end": "2026-05-01"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_the_csv_export_carries_the_same_figures_and_is_audited(client, verified_client, fixture):
    supervisor = UserFactory(roles=["supervisor"])
    verified_client(supervisor)
    response = client.get(reverse("reporting:metrics-csv"), {"start": "2026-05-01", "end": "2026-05-31"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "group", "measure", "value"]
    assert ["secure", "all", "p90_minutes", "76.0"] in rows
    assert ["first_update", "all", "p50_minutes", "15.0"] in rows
    assert ["escalations", "team=Security team", "count", "2"] in rows
    assert ["stages", "Closed", "count", "3"] in rows
    assert AuditEntry.objects.filter(action="metrics.exported", actor=supervisor).count() == 1


@pytest.mark.parametrize("role", ["agent", "tier2", "security"])
def test_only_supervisors_see_the_metrics(client, verified_client, role):
    verified_client(UserFactory(roles=[role]))
    assert client.get(reverse("reporting:metrics")).status_code == 403
    assert client.get(reverse("reporting:metrics-csv")).status_code == 403


def test_the_metrics_page_runs_the_same_queries_for_5_and_50_incidents(client, verified_client, supervisor_agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    verified_client(supervisor_agent)
    counts = []
    for n in (5, 45):
        for index in range(n):
            _incident(index % 4 + 1, "tier1", "secure", secured=index, first_update=index + 1, closed=index + 5)
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("reporting:metrics"), {"start": "2026-05-01", "end": "2026-05-31"})
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("name", ["reporting:metrics", "reporting:metrics-csv", "breaches:breach-report"])
@pytest.mark.parametrize(
    "start,end", [("9999-12-30", "9999-12-31"), ("1999-12-31", "2000-01-02"), ("2026-05-01", "2028-05-01")]
)
def test_dates_out_of_bounds_are_refused_with_a_message_not_a_server_error(
    client, verified_client, supervisor_agent, name, start, end
):
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False):
        verified_client(supervisor_agent)
        response = client.get(reverse(name), {"start": start, "end": end})
    assert response.status_code == 400
    assert "Choose dates between 2000-01-01 and 2027-06-01." in response.content.decode()


def test_the_csv_export_service_audits_the_export_and_is_for_supervisors_only(fixture, tier1):
    from django.core.exceptions import PermissionDenied

    supervisor = UserFactory(roles=["supervisor"])
    text = reporting_services.export_metrics_csv(start=START, end=END, actor=supervisor)
    assert list(csv.reader(io.StringIO(text))) == metrics.csv_rows(metrics.supervisor_metrics(START, END))
    entry = AuditEntry.objects.get(action="metrics.exported")
    assert (entry.actor, entry.data) == (supervisor, {"start": START.isoformat(), "end": END.isoformat()})
    with pytest.raises(PermissionDenied):
        reporting_services.export_metrics_csv(start=START, end=END, actor=tier1)
    assert AuditEntry.objects.filter(action="metrics.exported").count() == 1
