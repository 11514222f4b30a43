"""Customers: creating one here; changing one goes through incidents.customers (the guarded
email of record)."""

from django.db import transaction

from audit import services as audit
from audit.models import AuditAction

from ..models import (
    Customer,
)
from ..playbook import PlaybookError


@transaction.atomic
def create_customer(
    *, display_name: str, email: str, account_reference: str, language: str, actor, time_zone: str = ""
) -> Customer:
    if Customer.objects.filter(account_reference__iexact=account_reference.strip()).exists():
        raise PlaybookError("A customer with that account reference exists already: search for it instead.")
    customer = Customer.objects.create(
        display_name=display_name.strip(),
        email=email.strip().lower(),
        account_reference=account_reference.strip(),
        language=language,
        time_zone=time_zone.strip(),
    )
    audit.record(AuditAction.CUSTOMER_CREATED, actor=actor, target=customer, customer_id=customer.pk)
    return customer


def record_customer_view(customer: Customer, *, actor) -> None:
    """The read-access log: which agent opened which customer's page."""
    audit.record(AuditAction.CUSTOMER_VIEWED, actor=actor, target=customer, customer_id=customer.pk)
