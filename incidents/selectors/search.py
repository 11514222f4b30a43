"""Finding incidents and customers: the filtered list (keyset-paged), full-text and address
search, the customer lookup. A fixed number of queries per page, at any depth."""

import ipaddress
import re

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Count, Q, QuerySet

from core.paging import PAGE_SIZE, KeysetPage, keyset_page

from ..models import (
    Customer,
    Incident,
    Indicator,
    parse_reference,
)
from .visibility import visibility, visible_incidents


def incident_list(agent, *, filters: dict) -> QuerySet[Incident]:
    incidents = visible_incidents(agent).select_related("customer", "assignee")
    for field in ("stage", "status", "severity", "team"):
        if filters.get(field):
            incidents = incidents.filter(**{field: filters[field]})
    if filters.get("assignee"):
        incidents = incidents.filter(assignee=filters["assignee"])
    if filters.get("mine"):
        incidents = incidents.filter(assignee=agent)
    if filters.get("q"):
        incidents = incidents.filter(text_query(filters["q"]))
    if filters.get("ip"):
        incidents = incidents.filter(pk__in=Indicator.objects.filter(ip_query(filters["ip"])).values("incident_id"))
    return incidents.order_by("-created_at", "-pk")


def text_query(text: str) -> Q:
    """Incidents whose reference, customer (name, account reference, email) or summary match.

    PostgreSQL: every word, as a prefix, against the stored tsvector (GIN index); no ranking, so a
    word that matches half the desk costs no more than a rare one: the list is newest first and
    paged by keyset. SQLite: substring match on the same fields.
    """
    text = text.strip()
    if connection.vendor == "postgresql":
        tsquery = prefix_tsquery(text)
        query = Q(search_vector=SearchQuery(tsquery, search_type="raw", config="simple")) if tsquery else Q(pk=None)
    else:
        query = Q(summary__icontains=text) | Q(customer__display_name__icontains=text)
        query |= Q(customer__email__iexact=text) | Q(customer__account_reference__iexact=text)
    pk = parse_reference(text)
    if pk is not None and (text.upper().startswith("INC") or text.isdigit()):
        query |= Q(pk=pk)
    return query


_WORD = re.compile(r"[^\s&|!():*<>'\\]+")


def prefix_tsquery(text: str) -> str:
    """'kari nord' -> "'kari':* & 'nord':*": every word must match the start of a word.

    The words are quoted, so nothing typed is read as tsquery syntax. Hyphens separate words, as
    in the stored vector (see migration 0002); of a hyphenated word only the longer parts are
    searched when it has some ("ACC-7F3A-0012" -> '7f3a' and '0012'): a part like "acc" is in
    every account reference, and reading its whole posting list from the GIN index costs more
    than the rest of the page.
    """
    words = []
    for word in _WORD.findall(text.lower())[:8]:
        parts = [part for part in word.split("-") if part]
        long_parts = [part for part in parts if len(part) > 3]
        words += long_parts or parts
    return " & ".join(f"'{word}':*" for word in words[:8])


def ip_query(text: str) -> Q:
    """One address, or a network like 203.0.113.0/24 (ValueError if neither).

    On PostgreSQL a network of any size is `ip <<= network`, a range scan of the column's B-tree
    index. SQLite stores addresses as text: a network is the set of its addresses, so it is
    limited in size there.
    """
    text = text.strip()
    if "%" in text:  # fe80::1%eth0: a zone names an interface of one machine; databases refuse it
        raise ValueError("An address with a zone (%…) is local to one machine: leave the zone out.")
    if "/" in text:
        network = ipaddress.ip_network(text, strict=False)
        if network.num_addresses == 1:
            return Q(ip=str(network.network_address))
        if connection.vendor == "postgresql":
            return Q(ip__in_network=str(network))
        if network.num_addresses <= 4096:
            return Q(ip__in=[str(address) for address in network])
        raise ValueError("Search networks of up to 4,096 addresses (/20 for IPv4, /116 for IPv6).")
    return Q(ip=str(ipaddress.ip_address(text.strip("[]"))))


# --- The incident list, paged by keyset (core.paging) ---------------------------------------------

# A text search matching at most this many incidents is paged from the list of their ids.
TEXT_CANDIDATES = 500


def incident_list_page(
    agent, *, filters: dict, older: str | None = None, newer: str | None = None, size: int = PAGE_SIZE
) -> KeysetPage:
    """One page of the incident list. Two queries with a text search on PostgreSQL, else one.

    The planner cannot tell a rare word from a common one (words outside its statistics all get
    a default estimate), and its guess decides between walking the newest-first index until a
    page is found (right for a common word, a scan of everything for a rare one) and reading the
    GIN index (right for a rare word). So the ids of the matches are first read unordered and
    bounded: if there are no more than TEXT_CANDIDATES, the page is read among those ids (an
    estimate the planner gets right); otherwise the word is common and walking the newest-first
    index finds a page quickly. Nothing is ranked, so a word that matches half the desk costs no
    more than a rare one.
    """
    incidents = incident_list(agent, filters=filters)
    if filters.get("q") and connection.vendor == "postgresql":
        ids = list(incidents.order_by().values_list("pk", flat=True)[: TEXT_CANDIDATES + 1])
        if len(ids) <= TEXT_CANDIDATES:
            incidents = incidents.filter(pk__in=ids)
    return keyset_page(incidents, older=older, newer=newer, size=size)


def incidents_with_ip(agent, ip_text: str) -> QuerySet[Indicator]:
    """Where an address or network was seen, most recently seen first (slice it: the view shows 200).

    Either the address range of the ip index is read and sorted (few matches), or the newest-first
    index is walked until enough match (a network seen everywhere): the planner picks by statistics.
    """
    return (
        Indicator.objects.filter(ip_query(ip_text), visibility(agent, through="incident__"))
        .select_related("incident", "incident__customer")
        .defer("incident__search_vector")
        .order_by("-created_at", "-pk")
    )


def find_customers(query: str) -> QuerySet[Customer]:
    """Stage 1 of caller verification: by email of record or account reference."""
    query = query.strip()
    if not query:
        return Customer.objects.none()
    return Customer.objects.filter(Q(email__iexact=query) | Q(account_reference__iexact=query)).annotate(
        open_incidents=Count("incidents", filter=Q(incidents__status="open"))
    )
