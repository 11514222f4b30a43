"""Find IP addresses in pasted activity-log text (Apache/nginx, auth logs, JSON, IPv6 forms)."""

import ipaddress
import re
from dataclasses import dataclass

# Broad candidates; ipaddress decides what is real.
_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)"
_IPV6 = r"(?<![\w:.])\[?(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?:%[\w.]+)?\]?"
_CANDIDATE = re.compile(f"{_IPV6}|{_IPV4}")


@dataclass(frozen=True)
class FoundAddress:
    ip: str  # normalised (compressed IPv6, no zone)
    scope: str  # see scope_of()
    line: str  # the log line it came from, trimmed


_PRIVATE = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
]
_DOCUMENTATION = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


def scope_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """public, or why not: private, loopback, link_local, multicast, unspecified, documentation, reserved."""
    if any(address in network for network in _PRIVATE):
        return "private"
    if any(address in network for network in _DOCUMENTATION):
        return "documentation"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return "public"


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip("[]")  # pragma: no mutate (more characters stripped are none an address ends with)
    text = text.split("%", 1)[0]  # pragma: no mutate (the first piece is the same however many splits)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def extract(text: str) -> list[FoundAddress]:
    """Every distinct valid address in the text, in order of first appearance."""
    found: dict[str, FoundAddress] = {}
    for line in (text or "").splitlines():  # pragma: no mutate (any stand-in for no text holds no address)
        for match in _CANDIDATE.finditer(line):
            # "[2001:db8::1]:443" -> the match ends at the bracket (parse_ip drops it); ":443" is a port.
            address = parse_ip(match.group())
            if address is None:
                continue
            key = str(address)
            if key not in found:
                found[key] = FoundAddress(ip=key, scope=scope_of(address), line=line.strip()[:300])
    return list(found.values())
