"""Customers' details, and the guard on their email of record.

`change_customer` is the one door for changing a customer (the Django admin calls it): it checks
the values, keeps the history of the address of record (`CustomerEmailChange`), tells the old
address when the address changes, and writes a chained audit entry with the before and after
masked, all in one transaction.

`AddressGuard` is the one place that decides whether a one-time code may go to an address: not to
an address set less than `EMAIL_OF_RECORD_HOLD_DAYS` ago, nor to one that step 1 of an open
incident of the customer records as an unauthorized change of contact details.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Value
from django.utils import timezone

from accounts.roles import Role
from audit import services as audit
from audit.models import AuditAction
from core.masking import changes as masked_changes
from core.masking import mask_email, mask_name, mask_reference
from core.redaction import redacted
from notifications import outbox
from notifications.rendering import clean_header

from .models import ChangeKind, Customer, CustomerEmailChange, Language, Status, UnauthorizedChange, format_reference

FIELDS = ("display_name", "email", "language", "account_reference", "time_zone")
MASKS = {"display_name": mask_name, "email": mask_email, "account_reference": mask_reference}
MAX_REASON = 5000


def hold_days() -> int:
    return max(0, int(settings.EMAIL_OF_RECORD_HOLD_DAYS))


def clean_changes(customer: Customer, values: dict, *, reason: str = "") -> dict:
    """The normalised values of `values` that differ from the customer's; ValidationError naming
    each bad field otherwise. Writes nothing: the admin form asks this before it saves."""
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for name, raw in values.items():
        if name not in FIELDS:
            raise ValueError(f"not a customer field: {name!r}")
        if raw is None:
            continue
        value = str(raw).strip()
        if name == "email":
            value = value.lower()
        try:
            if not value and name != "time_zone":  # an empty time zone: the language's
                raise ValidationError("This field cannot be empty.")
            if name == "email":
                validate_email(value)
            if name == "language" and value not in Language.values:
                raise ValidationError(f"Choose one of: {', '.join(Language.values)}.")
            # The model field's own validators too (length, and whatever the storage layer adds).
            value = Customer._meta.get_field(name).clean(value, customer)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)
            continue
        current = getattr(customer, name)
        same = value.lower() == (current or "").lower() if name == "email" else value == current
        if not same:
            cleaned[name] = value
    reference = cleaned.get("account_reference")
    if reference and Customer.objects.filter(account_reference__iexact=reference).exclude(pk=customer.pk).exists():
        errors.setdefault("account_reference", []).append("Another customer has this account reference already.")
    if "email" in cleaned and not (reason or "").strip():
        errors.setdefault("reason", []).append(
            "Say why the email of record changes (and how the customer asked for it): codes go to this address."
        )
    if reason and len(reason) > MAX_REASON:
        errors.setdefault("reason", []).append(f"At most {MAX_REASON} characters.")
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def change_customer(
    customer: Customer,
    *,
    actor,
    display_name: str | None = None,
    email: str | None = None,
    language: str | None = None,
    account_reference: str | None = None,
    time_zone: str | None = None,
    reason: str = "",
) -> Customer:
    """Change a customer's details (None leaves a field as it is). Supervisors only.

    A new email of record is kept in the address history, and the old address is told (masked:
    the notice never shows the new address in full). Nothing changed, nothing recorded.
    """
    if not actor.has_any_role([Role.SUPERVISOR]):
        raise PermissionDenied("Only a supervisor can change a customer's details.")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    values = {
        "display_name": display_name,
        "email": email,
        "language": language,
        "account_reference": account_reference,
        "time_zone": time_zone,
    }
    cleaned = clean_changes(customer, values, reason=reason)
    if not cleaned:
        return customer
    before = {name: getattr(customer, name) for name in cleaned}
    for name, value in cleaned.items():
        setattr(customer, name, value)
    customer.save(update_fields=list(cleaned))
    reason = redacted((reason or "").strip())
    if "email" in cleaned:
        change = CustomerEmailChange.objects.create(
            customer=customer,
            old_email=before["email"],
            new_email=customer.email,
            changed_by=actor,
            reason=reason,
        )
        outbox.queue(  # to the old address: the notice of the change
            customer,
            template="email_changed",
            recipient=change.old_email,
            actor=actor,
            key=f"customer:{customer.pk}:email_changed:{change.pk}",
            context={
                "customer_name": clean_header(customer.display_name),
                "account_reference": customer.account_reference,
                "new_email_masked": mask_email(change.new_email),
                "changed_at": _customer_time(customer, change.changed_at),
            },
        )
    audit.record(
        AuditAction.CUSTOMER_CHANGED,
        actor=actor,
        target=customer,
        customer_id=customer.pk,
        changes=masked_changes(before, cleaned, masks=MASKS),
        **({"reason": reason[:500]} if reason else {}),
    )
    return customer


# --- The guard on one-time codes ------------------------------------------------------------------


def _named_in(address: str, text: str) -> bool:
    """The address appears in the text as a whole address, whatever the case."""
    pattern = r"(?<![\w.%+-])" + re.escape(address) + r"(?![\w%+-]|\.\w)"
    return re.search(pattern, text or "", flags=re.IGNORECASE) is not None


@dataclass
class AddressGuard:
    """What the desk knows about a customer's addresses, read in one query."""

    customer: Customer
    now: datetime
    changes: list[tuple[str, str, datetime]] = field(default_factory=list)  # (old, new, at), newest first
    step1: list[tuple[str, int]] = field(default_factory=list)  # (description, incident id)

    @classmethod
    def of(cls, customer: Customer) -> "AddressGuard":
        # No ordering inside the union (SQLite refuses it): sorted below.
        history = (
            CustomerEmailChange.objects.filter(customer=customer)
            .order_by()
            .values_list(Value("change"), "old_email", "new_email", "changed_at", Value(0))
        )
        contact = (
            UnauthorizedChange.objects.filter(
                incident__customer=customer, incident__status=Status.OPEN, kind=ChangeKind.CONTACT
            )
            .order_by()
            .values_list(Value("step1"), "description", Value(""), "created_at", "incident_id")
        )
        guard = cls(customer=customer, now=timezone.now())
        for kind, text, new, at, incident_id in history.union(contact, all=True):
            if kind == "change":
                guard.changes.append((text, new, at))
            else:
                guard.step1.append((text, incident_id))
        guard.changes.sort(key=lambda change: change[2], reverse=True)
        return guard

    def hold(self, address: str) -> str | None:
        """Why a one-time code may not go to `address`, or None when it may."""
        days = hold_days()
        if days:
            since = self.now - timedelta(days=days)
            for _old, new, at in self.changes:
                if new.lower() == address.lower() and at >= since:
                    return (
                        f"The address of record {mask_email(address)} was set on {timezone.localtime(at):%Y-%m-%d} "
                        f"(less than {days} days ago): a code sent there could reach whoever changed it."
                    )
        for description, incident_id in self.step1:
            if _named_in(address, description):
                return (
                    f"Step 1 of the open incident {format_reference(incident_id)} records the address "
                    f"{mask_email(address)} as an unauthorized change of contact details."
                )
        return None

    @property
    def previous(self) -> str | None:
        """The address of record before the latest change (if it differs from today's)."""
        if not self.changes:
            return None
        old = self.changes[0][0]
        return old if old.lower() != self.customer.email.lower() else None


def _customer_time(customer: Customer, at) -> str:
    """A time as the customer's emails give it: in their time zone, named."""
    local = at.astimezone(customer.zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
