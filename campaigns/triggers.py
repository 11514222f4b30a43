"""What may trigger campaign detection: the one place for the rule (campaigns.services applies it).

An indicator triggers when it is judged unauthorized or unknown, its address is routable (public, or a
documentation range) and no network of the desk's allow list holds it; other customers' indicators are
looked for among those of the last CAMPAIGN_WINDOW_DAYS days.
"""

import ipaddress
from datetime import timedelta

from django.conf import settings

from incidents.models import Indicator, Verdict

TRIGGER_VERDICTS = (Verdict.UNAUTHORIZED, Verdict.UNKNOWN)
# Documentation ranges (RFC 5737/3849) count as routable so that training data and demos link up.
TRIGGER_SCOPES = ("public", "documentation")


def window() -> timedelta:
    return timedelta(days=settings.CAMPAIGN_WINDOW_DAYS)


def is_allowed(ip: str, allowed: list) -> bool:
    """Whether a network of the allow list (ip_network objects) holds the address (never one of the other
    IP version: `in` says no to those)."""
    address = ipaddress.ip_address(ip)
    return any(address in network for network in allowed)


def can_trigger(indicator: Indicator, allowed: list) -> bool:
    return (
        indicator.verdict in TRIGGER_VERDICTS
        and indicator.scope in TRIGGER_SCOPES
        and not is_allowed(indicator.ip, allowed)
    )
