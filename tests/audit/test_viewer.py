"""The audit viewer and export: supervisors and security only, filtered, paged by seq, exported
as streamed CSV and JSON Lines, and every export itself on the record."""

import csv
import io
import itertools
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit import selectors
from audit.models import AuditAction, AuditEntry
from audit.services import record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(verified_client):
    user = UserFactory(roles=["security"])
    return user, verified_client(user, reauthenticated=True)  # exports need a fresh confirmation


def seed(n, **kwargs):
    return [record(AuditAction.NOTE_ADDED, **kwargs) for _ in range(n)]


def body(response):
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


@pytest.mark.parametrize("role", ["agent", "tier2"])
def test_agents_without_an_audit_role_are_refused(verified_client, role):
    client = verified_client(UserFactory(roles=[role]))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


@pytest.mark.parametrize("role", ["security", "supervisor"])
def test_security_and_supervisors_see_the_trail(verified_client, role):
    record(AuditAction.CALLER_VERIFIED, incident_id=41, method="code")
    response = verified_client(UserFactory(roles=[role])).get("/audit/")
    assert response.status_code == 200
    assert "Caller verified" in response.content.decode()


def test_filters_narrow_the_entries_to_actor_event_incident_and_customer(auditor):
    user, client = auditor
    other = UserFactory()
    record(AuditAction.INCIDENT_VIEWED, actor=other, incident_id=7, customer_id=70, marker="wanted")
    record(AuditAction.INCIDENT_VIEWED, actor=other, incident_id=8, customer_id=70, marker="other-incident")
    record(AuditAction.NOTE_ADDED, actor=other, incident_id=7, customer_id=70, marker="other-event")
    record(AuditAction.INCIDENT_VIEWED, actor=user, incident_id=7, customer_id=70, marker="other-actor")
    response = client.get("/audit/", {"actor": other.pk, "action": "incident.viewed", "incident": 7, "customer": 70})
    page = response.content.decode()
    assert "wanted" in page
    assert "other-incident" not in page and "other-event" not in page and "other-actor" not in page


def test_date_range_is_inclusive_of_whole_days(auditor):
    _, client = auditor
    entry = record(AuditAction.SIGN_IN, marker="today")
    day = entry.created_at.date().isoformat()
    assert "today" in client.get("/audit/", {"date_from": day, "date_to": day}).content.decode()
    assert "today" not in client.get("/audit/", {"date_to": "2000-01-01"}).content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"incident": "seven"}, "Enter an incident reference such as INC-000004."),
        ({"customer": "-3"}, "No customer has that account reference or email of record."),
        ({"date_from": "2026-13-45"}, "Enter a valid date."),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "end date is before the start date"),
        ({"action": "drop table"}, "Select a valid choice."),
        ({"actor": "999999"}, "Select a valid choice."),
        ({"before": "99999999999999999999999"}, "less than or equal to"),
    ],
)
def test_bad_filters_get_a_clear_form_error_not_a_server_error(auditor, params, message):
    _, client = auditor
    for url in ("/audit/", "/audit/export.csv"):
        response = client.get(url, params)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


def test_keyset_pages_walk_back_by_seq_without_gaps_or_repeats(auditor):
    _, client = auditor
    seed(120)
    seen, before = [], None
    while True:
        page = selectors.entry_page({}, before=before)
        seen += [entry.seq for entry in page.entries]
        if page.older_before is None:
            break
        before = page.older_before
    assert seen == list(range(AuditEntry.objects.count(), 0, -1))  # 120 + the auditor's sign-in
    response = client.get("/audit/", {"before": 71})
    assert ">#70</span>" in response.content.decode() and ">#71</span>" not in response.content.decode()
    assert "before=21" in response.content.decode()


def test_the_viewer_needs_the_same_number_of_queries_for_5_or_50_entries(auditor, django_assert_num_queries):
    _, client = auditor
    seed(5)
    client.get("/audit/")  # warm the session/OTP caches the same way for both counts
    with CaptureQueriesContext(connection) as five:
        assert client.get("/audit/").status_code == 200
    seed(45)
    with django_assert_num_queries(len(five)):
        response = client.get("/audit/")
    assert response.content.decode().count('<td data-label="When">') == 50


def test_csv_export_streams_the_filtered_set_and_is_itself_audited(auditor):
    user, client = auditor
    seed(3, incident_id=5)
    seed(2, incident_id=6)
    record(AuditAction.NOTE_ADDED, incident_id=5, note="=HYPERLINK(evil)")
    response = client.get("/audit/export.csv", {"incident": 5})
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["incident_id"] for row in rows] == ["5", "5", "5", "5"]
    assert json.loads(rows[-1]["data"]) == {"note": "=HYPERLINK(evil)"}  # JSON cell, starts with "{"
    exported = AuditEntry.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert exported.actor == user
    assert exported.data["format"] == "csv"
    assert exported.data["filters"]["incident_id"] == 5
    assert exported.data["upto_seq"] == exported.seq - 1  # the export holds what existed before it


def test_csv_cells_that_would_be_spreadsheet_formulas_are_defused(auditor):
    _, auditor_client = auditor
    Client().post("/accounts/login/", {"username": "x@example.test", "password": "x"}, HTTP_USER_AGENT="@SUM(1)")
    rows = list(csv.DictReader(io.StringIO(body(auditor_client.get("/audit/export.csv")))))
    assert rows[-1]["user_agent"] == "'@SUM(1)"


def test_jsonl_export_carries_the_hashes_for_independent_checking(auditor):
    _, client = auditor
    seed(3)
    lines = body(client.get("/audit/export.jsonl")).splitlines()
    items = [json.loads(line) for line in lines]
    # The auditor's account (its chained auditlog entries) and sign-in, then the three.
    assert [item["seq"] for item in items] == list(range(1, len(items) + 1))
    assert [item["action"] for item in items[-3:]] == ["incident.note_added"] * 3
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(items))
    assert AuditEntry.objects.filter(action=AuditAction.AUDIT_EXPORTED, data__format="jsonl").count() == 1


def test_entries_for_incident_returns_its_history_oldest_first():
    seed(2, incident_id=3)
    seed(1, incident_id=4)
    record(AuditAction.INCIDENT_VIEWED, incident_id=3)
    history = list(selectors.entries_for_incident(3))
    assert [e.action for e in history] == ["incident.note_added", "incident.note_added", "incident.viewed"]
    assert history == sorted(history, key=lambda e: e.seq)


def test_export_without_a_fresh_confirmation_asks_for_password_and_code(verified_client):
    client = verified_client(UserFactory(roles=["security"]))
    response = client.get("/audit/export.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/confirm/?next=")
    assert not AuditEntry.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


def test_people_filter_by_reference_and_customer_and_views_stay_hidden_unless_asked(auditor):
    from tests.factories import CustomerFactory

    _, client = auditor
    kari = CustomerFactory(account_reference="ACC-4242", email="kari@example.org")
    record(AuditAction.INCIDENT_VIEWED, incident_id=4, customer_id=kari.pk, marker="looked-at")
    record(AuditAction.NOTE_ADDED, incident_id=4, customer_id=kari.pk, marker="the-story")
    record(AuditAction.NOTE_ADDED, incident_id=5, customer_id=kari.pk + 1, marker="someone-else")
    for params in ({"incident": "INC-000004"}, {"incident": "inc-4"}, {"customer": "ACC-4242"},
                   {"customer": "KARI@example.org"}):  # fmt: skip
        page = client.get("/audit/", params).content.decode()
        assert "the-story" in page and "someone-else" not in page, params
        assert "looked-at" not in page, params
    page = client.get("/audit/").content.decode()
    assert "the-story" in page and "looked-at" not in page
    page = client.get("/audit/", {"incident": "INC-000004", "include_views": "on"}).content.decode()
    assert "looked-at" in page
    assert 'href="/incidents/4/">INC-000004</a>' in page  # each row links to its incident


def test_filtering_by_customer_costs_the_same_queries_for_5_or_50_entries(auditor, django_assert_num_queries):
    from tests.factories import CustomerFactory

    _, client = auditor
    kari = CustomerFactory(account_reference="ACC-4242")
    seed(5, customer_id=kari.pk, incident_id=4)
    client.get("/audit/", {"customer": "ACC-4242"})
    with CaptureQueriesContext(connection) as five:
        client.get("/audit/", {"customer": "ACC-4242", "incident": "INC-000004"})
    seed(45, customer_id=kari.pk, incident_id=4)
    with django_assert_num_queries(len(five)):
        response = client.get("/audit/", {"customer": "ACC-4242", "incident": "INC-000004"})
    assert response.content.decode().count('<td data-label="When">') == 50
