"""How the viewer turns what a person types into the ids the trail stores.

The trail keeps incident and customer ids; people know `INC-000004` and a customer's account
reference or email of record. Incidents are parsed here; customers live in the kernel, which the
audit app may not import, so the kernel plugs its lookup in (`incidents.apps.ready`).
"""

from collections.abc import Callable

# text -> the ids of the customers it names (account reference, email of record), at most a few.
customer_ids: Callable[[str], list[int]] | None = None


def incident_id(text: str) -> int | None:
    """INC-000123, inc-123 or 123 -> 123; anything else -> None."""
    text = text.strip().upper().removeprefix("INC-").removeprefix("INC")
    return int(text) if text.isdigit() and 0 < len(text) <= 12 and int(text) > 0 else None


def resolve_customer(text: str) -> list[int]:
    """A customer id as digits, or what the kernel's lookup finds for the text."""
    text = text.strip()
    if text.isdigit() and len(text) <= 18:
        return [int(text)]
    return customer_ids(text) if customer_ids is not None else []
