"""Search, paging and query counts that hold as the desk grows; the bulk data generator."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from audit.verification import verify_chain
from core import paging
from incidents import selectors, services
from incidents.forms import IncidentFilterForm
from incidents.models import Customer, Escalation, Incident, Indicator, Language, Stage, Status
from tests.factories import CustomerFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_security(client, verified_client, security_agent):
    return verified_client(security_agent)


def _incidents(n, actor, *, start=None, **fields):
    start = start or timezone.now() - timedelta(days=30)
    made = []
    for index in range(n):
        incident = IncidentFactory(opened_by=actor, created_at=start + timedelta(minutes=index), **fields)
        Indicator.objects.create(
            incident=incident, ip=f"198.51.100.{index % 250}", scope="documentation", recorded_by=actor
        )
        made.append(incident)
    return made


def _listed(response) -> list[str]:
    import re

    return re.findall(r">(INC-\d{6})<", response.content.decode())


# --- Text search ---------------------------------------------------------------------------------


def test_search_finds_by_customer_name_account_reference_email_summary_and_reference(as_security, tier1):
    kari = CustomerFactory(display_name="Kari Nordmann", account_reference="ACC-77001", email="kari@example.org")
    other = CustomerFactory(display_name="Lukas Müller", account_reference="ACC-77002", email="lukas@example.org")
    wanted = IncidentFactory(customer=kari, summary="Payout account changed over-night")
    unwanted = IncidentFactory(customer=other, summary="Unknown login from abroad")
    url = reverse("incidents:incident-list")
    for query in ("Nordmann", "ACC-77001", "acc-77001", "kari@example.org", "Payout", "over-night", wanted.reference):
        listed = _listed(as_security.get(url, {"q": query}))
        assert wanted.reference in listed, query
        assert unwanted.reference not in listed, query


def test_search_needs_every_word_and_treats_operators_as_text(as_security, tier1):
    kari = CustomerFactory(display_name="Kari Nordmann")
    ola = CustomerFactory(display_name="Ola Nordmann")
    first = IncidentFactory(customer=kari)
    second = IncidentFactory(customer=ola)
    url = reverse("incidents:incident-list")
    listed = _listed(as_security.get(url, {"q": "Kari Nordmann"}))
    assert first.reference in listed and second.reference not in listed
    for hostile in ("Nordmann & !", "'); DROP TABLE x; --", ":* | (", "\\"):
        response = as_security.get(url, {"q": hostile})
        assert response.status_code == 200, hostile


def test_prefix_tsquery_quotes_every_word():
    assert selectors.prefix_tsquery("Kari  nord") == "'kari':* & 'nord':*"
    assert selectors.prefix_tsquery("a&b|c!") == "'a':* & 'b':* & 'c':*"
    assert selectors.prefix_tsquery("o'brien") == "'o':* & 'brien':*"
    assert selectors.prefix_tsquery("  ") == ""
    assert selectors.prefix_tsquery("ACC-7F3A-0012") == "'7f3a':* & '0012':*"
    assert selectors.prefix_tsquery("kari-o@example.org") == "'kari':* & 'o@example.org':*"
    assert selectors.prefix_tsquery("a-b") == "'a':* & 'b':*"


def test_search_vector_follows_a_renamed_customer(postgres, as_security):
    customer = CustomerFactory(display_name="Zofia Wiśniewska")
    incident = IncidentFactory(customer=customer)
    customer.display_name = "Zofia Kowalska"
    customer.save()
    url = reverse("incidents:incident-list")
    assert incident.reference in _listed(as_security.get(url, {"q": "Kowalska"}))
    assert incident.reference not in _listed(as_security.get(url, {"q": "Wiśniewska"}))


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: show the index *can* serve it
        plan = queryset.explain()
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plan


def test_text_search_is_served_by_the_gin_index(postgres, security_agent):
    IncidentFactory()
    plan = _plan(selectors.incident_list(security_agent, filters={"q": "payout"}))
    assert "incident_search" in plan, plan


def test_finding_the_caller_s_account_is_served_by_indexes(postgres):
    CustomerFactory(email="Kari@Example.org", account_reference="ACC-4242")
    plan = _plan(selectors.find_customers("kari@example.org"))
    assert "customer_email_upper" in plan and "customer_reference_upper" in plan, plan
    assert selectors.find_customers("acc-4242").get().email == "Kari@Example.org"


# --- IP search -----------------------------------------------------------------------------------


def test_ip_search_finds_an_address_and_a_network(as_security, tier1):
    seen = _incidents(3, tier1)
    elsewhere = IncidentFactory()
    Indicator.objects.create(incident=elsewhere, ip="203.0.113.9", scope="documentation", recorded_by=tier1)
    url = reverse("incidents:ip-search")
    page = as_security.get(url, {"ip": "198.51.100.1"}).content.decode()
    assert seen[1].reference in page and seen[0].reference not in page
    page = as_security.get(url, {"ip": "198.51.100.0/24"}).content.decode()
    assert all(incident.reference in page for incident in seen)
    assert elsewhere.reference not in page


def test_large_networks_search_on_postgres_and_are_refused_with_a_reason_on_sqlite(as_security, tier1):
    _incidents(2, tier1)
    form = IncidentFilterForm({"ip": "198.51.0.0/16"})
    if connection.vendor == "postgresql":
        assert form.is_valid()
        page = as_security.get(reverse("incidents:ip-search"), {"ip": "198.51.0.0/16"}).content.decode()
        assert "198.51.100.1" in page
    else:
        assert not form.is_valid()
        assert "4,096" in form.errors["ip"][0]


def test_network_search_is_served_by_the_ip_index(postgres, security_agent):
    plan = _plan(Indicator.objects.filter(selectors.ip_query("203.0.113.0/24")))
    assert "Index" in plan and "203.0.113.255" in plan, plan  # <<= became a range on the B-tree


def test_ipv6_networks_are_searched_too(postgres, as_security, tier1):
    incident = IncidentFactory()
    Indicator.objects.create(incident=incident, ip="2001:db8::1:5", scope="documentation", recorded_by=tier1)
    page = as_security.get(reverse("incidents:ip-search"), {"ip": "2001:db8::/32"}).content.decode()
    assert incident.reference in page


# --- Keyset pages --------------------------------------------------------------------------------


def test_older_and_newer_links_walk_every_incident_once(as_security, tier1):
    made = _incidents(60, tier1)
    # Two incidents in the same microsecond: the id breaks the tie.
    Incident.objects.filter(pk=made[30].pk).update(created_at=made[31].created_at)
    url = reverse("incidents:incident-list")
    response = as_security.get(url)
    pages = [_listed(response)]
    while response.context["page"].older:
        response = as_security.get(url, {"older": response.context["page"].older})
        pages.append(_listed(response))
    seen = [reference for page in pages for reference in page]
    assert sorted(seen) == sorted(incident.reference for incident in made)
    assert len(seen) == len(set(seen)) == 60
    assert [len(page) for page in pages] == [25, 25, 10]
    back = as_security.get(url, {"newer": response.context["page"].newer})
    assert _listed(back) == pages[1]


@pytest.mark.parametrize("candidates", [1000, 10], ids=["rare word", "common word"])
def test_text_search_pages_walk_every_match_once(as_security, tier1, monkeypatch, candidates):
    monkeypatch.setattr(selectors, "TEXT_CANDIDATES", candidates)
    matching = _incidents(55, tier1, summary="Payout account changed")
    _incidents(10, tier1, summary="Unknown login from abroad")
    url = reverse("incidents:incident-list")
    response = as_security.get(url, {"q": "payout"})
    pages = [_listed(response)]
    while response.context["page"].older:
        response = as_security.get(url, {"q": "payout", "older": response.context["page"].older})
        pages.append(_listed(response))
    seen = [reference for page in pages for reference in page]
    assert seen == [incident.reference for incident in reversed(matching)]
    back = as_security.get(url, {"q": "payout", "newer": response.context["page"].newer})
    assert _listed(back) == pages[1]
    assert back.context["page"].newer  # the first page is newer still


def test_ip_search_pages_walk_every_sighting_once(as_security, tier1):
    made = []
    for index in range(60):
        incident = IncidentFactory()
        Indicator.objects.create(
            incident=incident,
            ip="203.0.113.7",
            scope="documentation",
            recorded_by=tier1,
            created_at=timezone.now() - timedelta(minutes=index),
        )
        made.append(incident.reference)
    url = reverse("incidents:ip-search")
    response = as_security.get(url, {"ip": "203.0.113.7"})
    seen = _listed(response)
    assert len(seen) == 50
    response = as_security.get(url, {"ip": "203.0.113.7", "older": response.context["page"].older})
    seen += _listed(response)
    assert seen == made
    assert response.context["page"].older is None


def test_a_malformed_cursor_shows_the_first_page(as_security, tier1):
    _incidents(30, tier1)
    url = reverse("incidents:incident-list")
    first = _listed(as_security.get(url))
    for cursor in ("x", "1.2.3", "99999999999999999999.1", "-1", ""):
        response = as_security.get(url, {"older": cursor})
        assert response.status_code == 200
        assert _listed(response) == first, cursor


def test_paging_keeps_the_filters(as_security, tier1):
    _incidents(30, tier1, severity=3)
    _incidents(5, tier1, severity=1)
    response = as_security.get(reverse("incidents:incident-list"), {"severity": 3})
    assert "severity=3&amp;older=" in response.content.decode()


# --- Query counts: the same with 5 and 50 rows, for every page the benchmark drives ------------


def _count(client, url, data=None, method="get", expected=200):
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == expected, response.status_code
    return len(queries)


LIST_VARIANTS = [
    {},
    {"status": "open", "severity": 2},
    {"q": "payout"},
    {"ip": "198.51.100.0/24"},
]


@pytest.mark.parametrize("query", LIST_VARIANTS, ids=["default", "filtered", "text", "ip"])
def test_incident_list_queries_do_not_grow_with_rows(as_security, tier1, query):
    counts = []
    for n in (5, 45):
        _incidents(n, tier1, summary="Payout account changed")
        counts.append(_count(as_security, reverse("incidents:incident-list"), query))
    assert counts[0] == counts[1], counts


def test_a_deep_incident_page_costs_the_queries_of_the_first(as_security, tier1):
    made = _incidents(80, tier1)
    url = reverse("incidents:incident-list")
    first = _count(as_security, url)
    deep = _count(as_security, url, {"older": paging.cursor_for(made[10])})
    assert first == deep


@pytest.mark.parametrize("ip", ["198.51.100.7", "198.51.100.0/24"])
def test_ip_search_queries_do_not_grow_with_rows(as_security, tier1, ip):
    counts = []
    for n in (5, 45):
        _incidents(n, tier1)
        counts.append(_count(as_security, reverse("incidents:ip-search"), {"ip": ip}))
    assert counts[0] == counts[1], counts


def test_incident_page_names_a_few_incidents_per_shared_address_and_links_the_rest(as_security, tier1):
    incident = IncidentFactory()
    Indicator.objects.create(incident=incident, ip="185.220.101.7", scope="public", recorded_by=tier1)
    counts = []
    for n in (5, 45):
        for other in [IncidentFactory() for _ in range(n)]:
            Indicator.objects.create(incident=other, ip="185.220.101.7", scope="public", recorded_by=tier1)
        counts.append(_count(as_security, incident.get_absolute_url()))
    assert counts[0] == counts[1], counts
    page = as_security.get(incident.get_absolute_url()).content.decode()
    newest = Incident.objects.exclude(pk=incident.pk).order_by("-pk")[: selectors.RELATED_SHOWN]
    assert all(other.reference in page for other in newest)
    older = Incident.objects.exclude(pk=incident.pk).order_by("-pk")[selectors.RELATED_SHOWN]
    assert older.reference not in page
    assert '<a href="/ip/?ip=185.220.101.7">and more</a>' in page


def test_queue_shows_the_first_of_a_long_queue_and_says_so(as_security, tier1):
    from incidents.views import QUEUE_SHOWN

    counts = []
    for n in (5, 55):
        for incident in _incidents(n, tier1):
            services.escalate(incident, to_team="security", reason="r", severity=3, actor=tier1)
        counts.append(_count(as_security, reverse("incidents:queue", args=["security"])))
    assert counts[0] == counts[1], counts
    page = as_security.get(reverse("incidents:queue", args=["security"])).content.decode()
    assert f"The {QUEUE_SHOWN} most urgent of 60 are shown." in page
    assert 'id="waiting-count">60<' in page


def test_audit_viewer_deep_page_costs_the_queries_of_the_first(client, verified_client, tier1):
    verified_client(UserFactory(roles=["supervisor"]))
    _incidents(20, tier1)
    for incident in Incident.objects.all():
        services.add_note(incident, body="n", visibility="internal", actor=tier1)
    head = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    first = _count(client, reverse("audit:index"))
    deep = _count(client, reverse("audit:index"), {"before": head - 20})
    assert first == deep + 1  # the first page also reads the entries waiting to be chained


def test_opening_an_incident_costs_the_same_queries_with_5_or_50_incidents(as_security, security_agent, tier1):
    customer = CustomerFactory(account_reference="ACC-90001")
    counts = []
    for n in (5, 45):
        _incidents(n, tier1, customer=customer)
        data = {
            "customer_query": "ACC-90001",
            "channel": "phone",
            "severity": 2,
            "summary": "Payout changed",
            "open_anyway": "1",
        }  # a different matter
        counts.append(_count(as_security, reverse("incidents:incident-create"), data, method="post", expected=302))
    assert counts[0] == counts[1], counts


# --- The bulk generator --------------------------------------------------------------------------


def test_seed_demo_adds_realistic_incidents_with_a_chain_verify_audit_accepts(settings):
    settings.DEBUG = True
    call_command("seed_demo", incidents=400, batch_size=150, seed=3)
    assert Incident.objects.count() == 400
    assert set(Customer.objects.values_list("language", flat=True)) == set(Language.values)
    assert set(Incident.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert set(Incident.objects.values_list("status", flat=True)) == set(Status.values)
    assert Escalation.objects.active().exists() and Escalation.objects.exclude(status__in=["open", "claimed"]).exists()
    # Attack infrastructure shows up in more than one incident.
    from django.db.models import Count

    shared = Indicator.objects.values("ip").annotate(n=Count("incident")).filter(n__gt=1)
    assert shared.exists()
    # Every row carries what the clocks, the metrics and campaign detection read.
    assert not Incident.objects.filter(resolve_due_at__isnull=True).exists()
    assert not Incident.objects.filter(first_update_due_at__isnull=True).exists()
    assert not Escalation.objects.filter(claim_due_at__isnull=True).exists()
    assert not Indicator.objects.filter(network="").exists()
    assert Incident.objects.filter(status="resolved", secured_at__isnull=False, first_update_at__isnull=False).exists()
    assert not Incident.objects.filter(escalated_at__isnull=True, escalations__isnull=False).exists()
    entries = AuditEntry.objects.count()
    assert entries >= 4000
    result = verify_chain()
    assert result.ok and result.checked == entries

    call_command("seed_demo", incidents=100, seed=4)  # adds, never replaces
    assert Incident.objects.count() == 500
    assert verify_chain().ok


def test_seed_demo_chains_after_entries_written_by_record(settings, tier1, customer):
    settings.DEBUG = True
    services.open_incident(customer=customer, channel="phone", summary="s", severity=2, actor=tier1)
    call_command("seed_demo", incidents=20, seed=5)
    services.open_incident(customer=customer, channel="phone", summary="s", severity=2, actor=tier1)
    result = verify_chain()
    assert result.ok, result.reason
    assert result.checked == AuditEntry.objects.count()


@pytest.mark.parametrize("args", [{"incidents": 0}, {"incidents": 10, "audit_per_incident": 0}])
def test_seed_demo_refuses_bad_numbers(settings, args):
    settings.DEBUG = True
    with pytest.raises(CommandError):
        call_command("seed_demo", **args)
    assert Incident.objects.count() == 0


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", incidents=5)


# --- The benchmark's hooks -----------------------------------------------------------------------


def test_query_count_middleware_reports_the_queries_of_the_request(rf, tier1):
    from config.benchmark import QueryCountMiddleware

    def view(request):
        list(Incident.objects.all())
        list(Customer.objects.all())
        from django.http import HttpResponse

        return HttpResponse("ok")

    response = QueryCountMiddleware(view)(rf.get("/"))
    assert response["X-Bulwark-Queries"] == "2"


def test_the_floor_url_exists_only_for_the_benchmark():
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        reverse("bench-floor")
