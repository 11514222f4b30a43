"""The IP scope rule (what campaigns act on) for every kind of address, its network boundaries included, and
how addresses are read from text: brackets, ports, zones, IPv4-mapped IPv6, the line each came from."""

import ipaddress

import pytest

from incidents.ipextract import FoundAddress, extract, parse_ip, scope_of

SCOPES = [
    ("8.8.8.8", "public"),
    ("2a01:4f8:c17:3f5a::1", "public"),
    ("10.0.0.0", "private"),
    ("10.255.255.255", "private"),
    ("11.0.0.1", "public"),
    ("172.15.255.255", "public"),
    ("172.16.0.0", "private"),
    ("172.31.255.255", "private"),
    ("172.32.0.0", "public"),
    ("192.168.1.1", "private"),
    ("100.64.0.0", "private"),
    ("100.127.255.255", "private"),
    ("100.128.0.0", "public"),
    ("fd12:3456::1", "private"),
    ("fc00::1", "private"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.255", "documentation"),
    ("203.0.113.0", "documentation"),
    ("2001:db8::1", "documentation"),
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("169.254.10.20", "link_local"),
    ("fe80::1", "link_local"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("198.18.0.1", "reserved"),  # benchmarking: not reserved by name, never routed on the internet
    ("100::1", "reserved"),  # IPv6 discard-only
]


@pytest.mark.parametrize(("text", "scope"), SCOPES)
def test_every_kind_of_address_has_its_scope(text, scope):
    assert scope_of(ipaddress.ip_address(text)) == scope


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("8.8.8.8", "8.8.8.8"),
        (" [2001:db8::1] ", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("fe80::1%25", "fe80::1"),
        ("::ffff:81.2.69.160", "81.2.69.160"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("999.1.1.1", None),
        ("1.2.3", None),
        ("", None),
        ("not an address", None),
    ],
)
def test_parse_ip_reads_one_address(text, address):
    parsed = parse_ip(text)
    assert (str(parsed) if parsed is not None else None) == address


def test_an_ipv4_mapped_address_is_read_as_ipv4():
    assert parse_ip("::ffff:10.0.0.1") == ipaddress.IPv4Address("10.0.0.1")


def test_extract_reads_brackets_ports_and_zones_and_keeps_the_first_line():
    text = (
        "  [2001:db8::7]:8443 GET /  \npeer fe80::1%eth0 and 240.1.2.3\nagain [2001:db8::7] and 0.0.0.0 and ::\n\n"
    ) + ("x" * 400 + " 198.18.0.1")
    assert extract(text) == [
        FoundAddress("2001:db8::7", "documentation", "[2001:db8::7]:8443 GET /"),
        FoundAddress("fe80::1", "link_local", "peer fe80::1%eth0 and 240.1.2.3"),
        FoundAddress("240.1.2.3", "reserved", "peer fe80::1%eth0 and 240.1.2.3"),
        FoundAddress("0.0.0.0", "unspecified", "again [2001:db8::7] and 0.0.0.0 and ::"),
        FoundAddress("::", "unspecified", "again [2001:db8::7] and 0.0.0.0 and ::"),
        FoundAddress("198.18.0.1", "reserved", "x" * 300),
    ]


@pytest.mark.parametrize("text", ["", None, "no addresses here", "version 1.2.3.4.5 and 300.1.1.1"])
def test_nothing_found_in_text_without_addresses(text):
    assert extract(text) == []
