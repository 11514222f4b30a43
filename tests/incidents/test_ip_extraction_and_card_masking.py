"""IP extraction from real-looking log lines, and card-number redaction."""

import pytest

from core.redaction import luhn_valid, redact
from incidents.ipextract import extract

LOG_LINES = [
    (
        '203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET /login HTTP/1.1" 200 2326 "-" "Mozilla/5.0"',
        [("203.0.113.9", "documentation")],
    ),
    (
        '185.220.101.7 - alice [10/Oct/2026:13:55:36 +0000] "POST /account/payees HTTP/2.0" 302 0',
        [("185.220.101.7", "public")],
    ),
    (
        "Oct 10 13:55:36 web sshd[1234]: Failed password for root from 45.155.205.233 port 52211 ssh2",
        [("45.155.205.233", "public")],
    ),
    (
        "Oct 10 13:56:01 web sshd[1240]: Accepted publickey for deploy from 10.0.4.17 port 40022 ssh2",
        [("10.0.4.17", "private")],
    ),
    (
        '{"ts":"2026-10-10T13:55:36Z","client_ip":"2a01:4f8:c17:3f5a::1","event":"login_success"}',
        [("2a01:4f8:c17:3f5a::1", "public")],
    ),
    ('{"ip": "::ffff:81.2.69.160", "ua": "curl/8.0"}', [("81.2.69.160", "public")]),
    ("[2606:4700:4700::1111]:443 - - GET /", [("2606:4700:4700::1111", "public")]),
    ("link-local peer fe80::1ff:fe23:4567:890a%eth0 said hello", [("fe80::1ff:fe23:4567:890a", "link_local")]),
    ("health check from 127.0.0.1 and ::1", [("127.0.0.1", "loopback"), ("::1", "loopback")]),
    ("login from 8.8.8.8, then 8.8.8.8 again, then 1.1.1.1.", [("8.8.8.8", "public"), ("1.1.1.1", "public")]),
    ("version 1.2.3 build 2026.10.10 at 12:30:45, bogus 999.10.10.10 and 1.2.3.4.5", []),
    ("multicast 224.0.0.251 mdns; carrier-grade 100.64.3.2", [("224.0.0.251", "multicast"), ("100.64.3.2", "private")]),
]


@pytest.mark.parametrize(("line", "expected"), LOG_LINES)
def test_ip_addresses_are_found_validated_and_classified(line, expected):
    assert [(found.ip, found.scope) for found in extract(line)] == expected


def test_each_address_keeps_the_line_it_came_from():
    text = "first line 8.8.4.4\nsecond line 9.9.9.9"
    assert [found.line for found in extract(text)] == ["first line 8.8.4.4", "second line 9.9.9.9"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 please", "card [card number removed, ending 1111] please"),
        ("4111-1111-1111-1111", "[card number removed, ending 1111]"),
        ("amex 378282246310005.", "amex [card number removed, ending 0005]."),
        (
            "19 digits 6011000990139424000? no: 4000056655665556",
            "19 digits 6011000990139424000? no: [card number removed, ending 5556]",
        ),
    ],
)
def test_card_numbers_are_masked_keeping_the_last_four(text, expected):
    assert redact(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "call me on +47 22 33 44 55 or 0047 2233 4455",
        "ip 203.0.113.9, date 2026-11-22, ref INC-000123, order 123456789012",
        "not luhn 4111 1111 1111 1112",
        "twenty digits 12345678901234567893",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert redact(text) == (text, 0)


def test_luhn():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111 1111 1111 1111 123", "[card number removed, ending 1111] 123"),  # card then CVV
        ("4111111111111111 12 25", "[card number removed, ending 1111] 12 25"),  # card then expiry
        ("ref 12 4111-1111-1111-1111", "ref 12 [card number removed, ending 1111]"),
    ],
)
def test_a_card_followed_or_preceded_by_other_digit_groups_is_still_found(text, expected):
    assert redact(text) == (expected, 1)
