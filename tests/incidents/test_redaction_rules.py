"""The card detector's rules read whole: several cards in one text and their count, empty fields, what is
protected (IBANs, IPv6 addresses, markers), and the tables it builds once at import, checked against the
issuer list rather than against themselves."""

import sys

import pytest

from core import redaction
from core.redaction import contains_card_number, luhn_valid, redact, redacted

VISA, MASTERCARD, AMEX = "4111 1111 1111 1111", "5500 0000 0000 0004", "3782 822463 10005"


def marker(last_four: str) -> str:
    return f"[card number removed, ending {last_four}]"


def test_two_cards_in_one_text_are_two_stretches():
    assert redact(f"paid {VISA}, refunded to {MASTERCARD}.") == (
        f"paid {marker('1111')}, refunded to {marker('0004')}.",
        2,
    )
    assert redact(f"{AMEX}\nand {VISA}") == (f"{marker('0005')}\nand {marker('1111')}", 2)


@pytest.mark.parametrize("empty", ["", None])
def test_an_empty_field_is_returned_as_it_is_with_no_redaction(empty):
    assert redact(empty) == (empty, 0)
    assert redacted(empty) == empty
    assert contains_card_number(empty) is False


def test_text_without_a_card_is_returned_unchanged_with_a_zero_count():
    for text in ("   ", "no digits at all", "order 123456789012", "4111 1111 1111 1112"):
        assert redact(text) == (text, 0)
        assert contains_card_number(text) is False
    assert contains_card_number(f"x {VISA} y") is True


def test_a_marker_already_in_the_text_is_kept_and_not_counted():
    text = f"{marker('1111')} then {VISA}"
    assert redact(text) == (f"{marker('1111')} then {marker('1111')}", 1)
    assert redact(marker("1234")) == (marker("1234"), 0)


def test_valid_ibans_and_ipv6_addresses_are_protected_but_a_card_next_to_them_is_not():
    iban = "GB82 WEST 1234 5698 7654 32"
    assert redact(f"IBAN {iban} and {VISA}") == (f"IBAN {iban} and {marker('1111')}", 1)
    assert redact("DE89370400440532013000") == ("DE89370400440532013000", 0)
    # A valid IBAN whose digits read as a Visa card is left whole; so is one after an IBAN-like reference.
    card_like = "DE95 4111 1111 1111 1111 00"
    assert redact(f"pay to {card_like} now") == (f"pay to {card_like} now", 0)
    text = f"card {VISA} or AB12 3456 7890 1234, iban {card_like}"
    assert redact(text) == (f"card {marker('1111')} or AB12 3456 7890 1234, iban {card_like}", 1)
    assert redact("DE96 4111 1111 1111 1111 00") == (f"DE96 {marker('1111')} 00", 1)  # check digits wrong
    address = "2001:db8::4111:1111:1111:1111"
    assert redact(f"addr {address} x") == (f"addr {address} x", 0)
    assert redact(f"addr {address}. end") == (f"addr {address}. end", 0)
    assert redact(f"addr .{address} end") == (f"addr .{address} end", 0)
    assert redact(f"see{address}") == (f"see{address}", 0)


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("79927398713", True),
        ("79927398710", False),
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("5500000000000004", True),  # a 5 doubled: 10, less 9
        ("5500000000000005", False),
        ("0", True),
        ("18", True),
        ("81", False),
    ],
)
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid


def test_helpers_of_protection():
    assert redaction._ipv6_start("see2001:db8::1") == 3
    assert redaction._ipv6_start("2001:db8::1") == 0
    assert redaction._ipv6_start("abcde2001:db8::1") is None
    assert redaction._ipv6_start("not an address") is None
    assert redaction._iban_length("GB82WEST12345698765432") == 22
    assert redaction._iban_length("GB82 WEST 1234 5698 7654 32 more") == 27
    assert redaction._iban_length("GB82WEST1234569876543") == 0  # too short
    assert redaction._iban_length("GB83WEST12345698765432") == 0  # wrong check digits
    assert redaction._iban_length("ZZ82WEST12345698765432") == 0  # no such country
    assert redaction._iban_valid("GB82WEST12345698765432") is True
    assert redaction._iban_valid("GB82WEST1234569876543Ä") is False
    assert redaction._iban_valid("GB82-WEST12345698765432") is False


def test_skipping_digits_over_long_texts():
    text = ("1a" * 200).encode()  # one digit every two characters
    assert redaction._skip(text, 0, 0) == 0
    assert redaction._skip(text, 0, 3) == 6
    assert redaction._skip(text, 0, 64) == 128
    assert redaction._skip(text, 0, 100) == 200
    assert redaction._skip(text, 10, 150) == 310
    long_card = "x" * 300 + VISA
    assert redact(long_card) == ("x" * 300 + marker("1111"), 1)


LENGTHS = {
    "4111": {13, 16, 19},
    "5000": {13, 14, 15, 16, 17, 18, 19},
    "6011": {13, 14, 15, 16, 17, 18, 19},
    "5105": {16},
    "5599": {16},
    "8100": {16},
    "8299": {16},
    "8300": set(),
    "2221": {16},
    "2720": {16},
    "2721": set(),
    "2200": {16, 17, 18, 19},
    "2204": {16, 17, 18, 19},
    "2205": set(),
    "3528": {16, 17, 18, 19},
    "3589": {16, 17, 18, 19},
    "3527": set(),
    "3000": {14, 15, 16, 17, 18, 19},
    "3059": {14, 15, 16, 17, 18, 19},
    "3060": set(),
    "3612": {14, 15, 16, 17, 18, 19},
    "3412": {15},
    "3782": {15},
    "3512": set(),
    "1234": set(),
    "0000": set(),
    "9999": set(),
}


def test_card_lengths_by_first_four_digits_follow_the_issuer_list():
    table = redaction._lengths_by_first_four()
    assert len(table) == 10_000
    assert {prefix: set(table[int(prefix)]) for prefix in LENGTHS} == LENGTHS
    # 4: 1000; 50, 56-69: 1500; 51-55, 81-82: 700; 2221-2229, 223-229, 23-26, 270-271, 2720: 500;
    # 2200-2204, 3528-3529, 353-358: 67; 300-305, 36, 38, 39: 360; 34, 37: 200
    assert sum(bool(lengths) for lengths in table) == 1000 + 1500 + 700 + 500 + 67 + 360 + 200


def test_the_issuer_translation_tables_give_the_lengths_of_every_prefix():
    first, second, by_length = redaction._issuer_tables()
    assert (len(first), len(second), sorted(by_length)) == (256, 256, list(range(13, 20)))
    table = redaction._lengths_by_first_four()
    for prefix in range(10_000):
        code = first[prefix // 100] + second[prefix % 100]
        assert {length for length, lanes in by_length.items() if lanes[code] == 1} == table[prefix], prefix
    assert all(set(lanes) == {0, 1} for lanes in by_length.values())


def test_lanes_and_sums():
    assert redaction._lanes([(1, 5), (3, 7)]) == bytes([0, 5, 0, 7]) + bytes(252)
    assert redaction._ones(3) == 0x010101
    assert redaction._bytes(0x0102, 3) == b"\x02\x01\x00"
    assert redaction._bytes(-1, 2) == b"\xff\xff"
    assert redaction._bytes(1 << 400, 2) == b"\x00\x00"
    assert redaction._window_sum(0x01010101, 2, 4) == b"\x01\x02\x02\x02"


CLASSES = (
    ("7", "7"),
    ("\u0663", "3"),  # Arabic-Indic three
    ("\uff19", "9"),  # fullwidth nine
    ("\u200b", "\x00"),  # zero-width space
    ("\u00ad", "\x00"),  # soft hyphen
    ("\u200f", "\x00"),  # right-to-left mark
    ("a", "x"),
    ("\u00e9", "x"),
    ("\u00bd", "x"),  # a number that is no decimal digit
    ("\n", "\n"),
    ("\x0b", "\n"),
    ("\x85", "\n"),
    ("\u2028", "\n"),
    ("\u2029", "\n"),
    ("\r", "\r"),
    (" ", " "),
    ("\t", " "),
    ("\u3000", " "),
    ("\u00a0", " "),
    (".", "."),
    ("-", "-"),
    ("/", "-"),
    ("\u2013", "-"),
    ("\U0001f600", "-"),
)


def test_the_character_classes():
    classes = redaction._build_table()  # built once at import; built again here to be checked
    assert len(classes) == sys.maxunicode + 1
    assert [(char, classes[ord(char)]) for char, _ in CLASSES] == list(CLASSES)


def test_two_wrapped_cards_one_under_the_other_are_not_read_as_a_numbered_column():
    # The end of the first card, a comma and the start of the second share a line: "0000009," is no
    # numbered bullet when the lines above and below have none.
    text = "34000000\n0000009, 35280000\n00000007 "
    assert redact(text) == (
        "[card number removed, ending 0009], [card number removed, ending 0007] ",
        2,
    )


def test_a_numbered_column_needs_a_number_on_every_line():
    ids = "1. 12345678\n2. 12345678\n3. 12345678"
    assert redact(ids) == (ids, 0)  # a numbered list of ids: nothing to remove
    cards = "1. 4111111111111111\n2. 4111111111111111\n3. 4111111111111111"
    assert redact(cards)[1] == 3
