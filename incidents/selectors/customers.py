"""The customer directory and a customer's page (fixed query counts, keyset paging)."""

from django.db.models import Count, Q, QuerySet

from core import paging

from ..models import Customer, Incident, ReplySnippet, Status
from .visibility import visible_incidents

CUSTOMER_INCIDENTS_SHOWN = 50  # newest first; the incident list (search by reference) has the rest


def customer_directory(query: str = "", *, older=None, newer=None, size: int = paging.PAGE_SIZE):
    """Customers whose name, email of record or account reference contain every word typed,
    newest first, one page (one query), each with its number of open incidents."""
    customers = Customer.objects.all()
    for word in query.split()[:8]:
        customers = customers.filter(
            Q(display_name__icontains=word) | Q(email__icontains=word) | Q(account_reference__icontains=word)
        )
    customers = customers.annotate(open_incidents=Count("incidents", filter=Q(incidents__status=Status.OPEN)))
    return paging.keyset_page(customers, older=older, newer=newer, size=size)


def customer_incidents(customer: Customer, agent) -> QuerySet[Incident]:
    """The customer's incidents this agent may see, newest first (restricted ones only for the
    security team and supervisors)."""
    return (
        visible_incidents(agent)
        .filter(customer=customer)
        .select_related("customer", "assignee")
        .defer("search_vector")
        .order_by("-created_at", "-pk")
    )


def open_incidents_of(customer: Customer, agent) -> list[Incident]:
    """The customer's open incidents the agent may see: the warning before opening another."""
    return list(customer_incidents(customer, agent).filter(status=Status.OPEN)[:5])


def reply_snippets(incident: Incident) -> dict[str, list[tuple[str, str]]]:
    """The active reply snippets in the customer's language, by purpose, with the customer's name
    and the incident's reference filled in: [(title, text)] (one query)."""
    customer = incident.customer
    by_purpose: dict[str, list[tuple[str, str]]] = {}
    for snippet in ReplySnippet.objects.filter(language=customer.language, active=True):
        text = snippet.filled(name=customer.display_name, reference=incident.reference)
        by_purpose.setdefault(snippet.purpose, []).append((snippet.title, text))
    return by_purpose
