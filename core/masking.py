"""Masked forms of personal data, for audit entries and hand-off packets: enough to recognise a
value, not to read it back. One place, used by every service that records a before and after."""

from datetime import date, datetime


def mask_name(name: str) -> str:
    """ "Kari Nordmann" -> "K. N***": enough to recognise the case, not to identify the person."""
    parts = (name or "").split()
    if not parts:
        return "***"
    if len(parts) == 1:
        return parts[0][:1] + "***"
    return f"{parts[0][:1]}. {parts[-1][:1]}***"


def mask_email(address: str) -> str:
    """ "mari@example.org" -> "m***@example.org"."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_reference(text: str) -> str:
    text = text or ""
    return text[:3] + "***" + text[-2:] if len(text) > 6 else "***"


def plain(value):
    """A value as an audit entry holds it (JSON): dates as ISO text, collections as sorted lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | list | tuple):
        return sorted(plain(v) for v in value)
    return value


def changes(before: dict, after: dict, *, masks: dict | None = None) -> dict:
    """{field: [before, after]} for the fields whose value differs, masked where `masks` says how."""
    masks = masks or {}
    result = {}
    for name, new in after.items():
        old = before.get(name)
        if plain(old) == plain(new):
            continue
        mask = masks.get(name)
        result[name] = [mask(old) if mask and old else plain(old), mask(new) if mask and new else plain(new)]
    return result
