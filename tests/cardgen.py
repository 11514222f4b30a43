"""Hypothesis strategies for card numbers as people type them, and for ordinary numbers that are not cards.

Independent of core.redaction on purpose: the issuer table and the Luhn check are written out again
here, so a mistake in the redactor cannot hide itself in the test data.

- card_numbers(network=None): a Luhn-valid number with a real issuer prefix and a length that network issues.
- formatted_cards(): a TypedCard (typed, digits, network): the card as someone might type it.
- ordinary_numbers(): text holding numbers that are not card numbers and must be left alone, among them lists of
  9-digit ids one per line (3 lines or more: a column of equal-width numbers is a list, not a wrapped card).
"""

import datetime as dt
import re
import string
import unicodedata
from typing import NamedTuple

from hypothesis import strategies as st

# network: (issuer prefix ranges, inclusive, as equal-width strings; card lengths)
NETWORKS: dict[str, tuple[list[tuple[str, str]], list[int]]] = {
    "visa": ([("4", "4")], [13, 16, 19]),
    "mastercard": ([("51", "55"), ("2221", "2720")], [16]),
    "amex": ([("34", "34"), ("37", "37")], [15]),
    "discover": ([("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")], [16, 17, 18, 19]),
    "jcb": ([("3528", "3589")], [16, 17, 18, 19]),
    "diners": ([("300", "305"), ("36", "36"), ("38", "39")], [14, 15, 16, 17, 18, 19]),
    "unionpay": ([("62", "62")], [16, 17, 18, 19]),
    "maestro": ([("50", "50"), ("56", "69")], [13, 14, 15, 16, 17, 18, 19]),
    "mir": ([("2200", "2204")], [16, 17, 18, 19]),
    "rupay": ([("60", "60"), ("65", "65"), ("81", "82"), ("508", "508")], [16]),
}

# Invisible format characters (Unicode category Cf).
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u200e", "\u200f", "\u202a", "\u2066"]
# Zero of some decimal digit scripts: fullwidth, Arabic-Indic, Persian, Devanagari, Bengali, Thai.
DIGIT_ZEROS = ["\uff10", "\u0660", "\u06f0", "\u0966", "\u09e6", "\u0e50"]
SEPARATORS = [
    " ",
    "  ",
    "   ",
    "\t",
    ".",
    "/",
    "-",
    "_",
    ",",
    ":",
    " - ",
    ". ",
    "\u00a0",  # no-break space
    "\u2007",  # figure space
    "\u202f",  # narrow no-break space
    "\u3000",  # ideographic space
    "\u2009",  # thin space
]
LINE_BREAKS = ["\n", "\r\n", "-\n", " \n", "\n\n", "\u2028"]
# A line break at any position between two digits (a narrow field wrapping a number), maybe with an indent.
WRAPS = ["\n", "\r\n", "\r", "\u2028", "\u2029", " \n", "\n    ", "\r\n\t", "\n\u200b"]
GLUE = ["order-", "ACC-", "card-", "ref/", "nr.", "card:", "#", "("]


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def check_digit(body: str) -> str:
    return next(digit for digit in string.digits if luhn_valid(body + digit))


def is_card_number(digits: str) -> bool:
    """Would a card network issue this digit string? (issuer prefix, length, Luhn)"""
    if not (digits.isascii() and digits.isdigit() and luhn_valid(digits)):
        return False
    for ranges, lengths in NETWORKS.values():
        if len(digits) in lengths and any(lo <= digits[: len(lo)] <= hi for lo, hi in ranges):
            return True
    return False


@st.composite
def card_numbers(draw, network: str | None = None) -> str:
    name = network or draw(st.sampled_from(sorted(NETWORKS)))
    ranges, lengths = NETWORKS[name]
    lo, hi = draw(st.sampled_from(ranges))
    prefix = str(draw(st.integers(int(lo), int(hi)))).zfill(len(lo))
    length = draw(st.sampled_from(lengths))
    body = prefix + draw(st.text(string.digits, min_size=length - 1 - len(prefix), max_size=length - 1 - len(prefix)))
    return body + check_digit(body)


class TypedCard(NamedTuple):
    typed: str  # as it appears in the text
    digits: str  # the card number, ASCII digits
    network: str


def _groups(draw, digits: str) -> list[str]:
    """Digit groups as cards print them: every group but the last has at least 3 digits (the first at least 4)
    and at most 6, groups of 3 come right after the first and only 3s after them, groups of 5 only last
    (4-4-4-4, 4-6-5, 4-4-4-1, 4-3-3-3)."""
    kind = draw(st.sampled_from(["none", "fours", "amex", "threes", "random"]))
    if kind == "none":
        return [digits]
    if kind == "amex" and len(digits) in (14, 15, 16):  # 4-6-5, 4-6-4, 4-6-6
        return [digits[:4], digits[4:10], digits[10:]]
    if kind == "threes":  # 4-3-3-3 (13 digits), 4-3-3-3-3, ...
        return [digits[:4]] + [digits[i : i + 3] for i in range(4, len(digits), 3)]
    if kind == "random":
        groups, rest = [], digits
        size = draw(st.sampled_from([4, 6]))
        while rest:
            groups.append(rest[:size])
            rest = rest[size:]
            if size == 3 or len(groups) == 1:  # 3s come right after the first group, and only 3s after them
                size = 3 if size == 3 else draw(st.sampled_from([3, 4, 6]))
            else:
                size = draw(st.sampled_from([4, 6]))
        return groups
    return [digits[i : i + 4] for i in range(0, len(digits), 4)]


# Four dot-separated groups of 1-3 digits read as an IPv4 address (kept as typed): "4.111.111.111\n1111 1111".
_DOTTED_QUAD = re.compile(r"(?<![0-9.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])")


def _looks_like_an_address(typed: str) -> bool:
    plain = "".join(str(unicodedata.decimal(c, "")) or c for c in typed if unicodedata.category(c) != "Cf")
    return bool(_DOTTED_QUAD.search(plain))


def formatted_cards(network: str | None = None) -> st.SearchStrategy[TypedCard]:
    """Every way of typing a card found in the wild, and combinations of them."""
    return _formatted_cards(network).filter(lambda card: not _looks_like_an_address(card.typed))


@st.composite
def _formatted_cards(draw, network: str | None = None) -> TypedCard:
    """Every way of typing a card found in the wild, and combinations of them."""
    name = network or draw(st.sampled_from(sorted(NETWORKS)))
    digits = draw(card_numbers(name))
    groups = _groups(draw, digits)
    if draw(st.booleans()):  # Unicode digits, one script or mixed
        zeros = draw(st.lists(st.sampled_from(DIGIT_ZEROS), min_size=1, max_size=3))
        groups = ["".join(chr(ord(draw(st.sampled_from(zeros))) + int(d)) for d in group) for group in groups]
    separators = [draw(st.sampled_from(SEPARATORS))] * (len(groups) - 1)
    if separators[:1] == [":"] and len(groups) == 8:  # that is a valid IPv6 address, which stays as typed
        separators = ["-"] * 7
    if separators and draw(st.booleans()):  # broken across a line
        separators[draw(st.integers(0, len(separators) - 1))] = draw(st.sampled_from(LINE_BREAKS))
    if separators and draw(st.booleans()):  # an invisible character standing in for some separators
        for index in draw(st.sets(st.integers(0, len(separators) - 1), min_size=1)):
            separators[index] = draw(st.sampled_from(INVISIBLE))
    typed = groups[0] + "".join(sep + group for sep, group in zip(separators, groups[1:], strict=True))
    if draw(st.booleans()):  # wrapped at any position between two digits
        between = [at for at in range(1, len(typed)) if typed[at - 1].isdecimal() and typed[at].isdecimal()]
        if between:
            at = draw(st.sampled_from(between))
            typed = typed[:at] + draw(st.sampled_from(WRAPS)) + typed[at:]
    for _ in range(draw(st.integers(0, 3))):  # invisible characters anywhere inside
        at = draw(st.integers(1, len(typed) - 1))
        typed = typed[:at] + draw(st.sampled_from(INVISIBLE)) + typed[at:]
    if draw(st.booleans()):  # glued to a word
        typed = draw(st.sampled_from(GLUE)) + typed
    return TypedCard(typed, digits, name)


# --- ordinary numbers: must come out of the redactor byte for byte -------------------------------------

IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24, "SK": 24,
}  # fmt: skip


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


@st.composite
def ibans(draw) -> str:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    bban_length = IBAN_LENGTHS[country] - 4
    if draw(st.booleans()):
        bban = draw(st.text(string.digits, min_size=bban_length, max_size=bban_length))
    else:  # some banks use letters in the account part (GB: WEST...)
        bban = draw(st.text(string.ascii_uppercase[:4], min_size=4, max_size=4)) + draw(
            st.text(string.digits, min_size=bban_length - 4, max_size=bban_length - 4)
        )
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    compact = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    assert iban_valid(compact)
    if draw(st.booleans()):
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def _not_a_card(number: str) -> bool:
    return not is_card_number(number)


nine_digit_ids = st.integers(100_000_000, 999_999_999).map(str)

_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
_DATE_FORMATS = ["%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d", "%m/%d/%Y", "%d.%m.%y", "%Y.%m.%d", "%d-%m-%Y"]
_LIST_SEPARATORS = [", ", " ", "; ", "\n", ",", " / ", " - ", "\t", " | "]
# Phone numbers as written in lists: Norwegian, North American, UK, French.
_PHONE_FORMATS = [
    r"\+47 9[0-9]{2} [0-9]{2} [0-9]{3}",
    r"\+47 [0-9]{2} [0-9]{2} [0-9]{2} [0-9]{2}",
    r"\([2-9][0-9]{2}\) [2-9][0-9]{2}-[0-9]{4}",
    r"[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}",
    r"[2-9][0-9]{2}\.[2-9][0-9]{2}\.[0-9]{4}",
    r"\+1 [2-9][0-9]{2} [2-9][0-9]{2} [0-9]{4}",
    r"0[1-9][0-9] [0-9]{4} [0-9]{4}",
    r"0[1-9]( [0-9]{2}){4}",
    # Not in lists: "0123 456789, 0123 456780" is grouped 6-4-6 across two numbers, as a card may be.
]
# A list of phone numbers in one format, as lists are written.
_phone_lists = st.sampled_from(_PHONE_FORMATS).flatmap(
    lambda layout: st.lists(st.from_regex(layout, fullmatch=True), min_size=2, max_size=6)
)


@st.composite
def _joined(draw, values: list, formats: list[str] | None) -> str:
    """A list of dates (one format, as lists are written) or phones, with one list separator."""
    if formats:
        layout = draw(st.sampled_from(formats))
        values = [value.strftime(layout) for value in values]
        return draw(st.sampled_from(_LIST_SEPARATORS)).join(values)
    # Not a bare line break: "... 1234 5678\n0301 ..." may be a card wrapped by a narrow field.
    return draw(st.sampled_from([s for s in _LIST_SEPARATORS if s != "\n"])).join(values)


@st.composite
def _id_columns(draw) -> str:
    """A list of 9-digit ids one per line, on lines of its own: 3 or more lines, bare or with a bullet ("- ",
    "* ", "1. "), a trailing comma or semicolon, spaces around. (Two such lines alone may be a card wrapped by a
    narrow field: "123456789\n987654321" can read as an 18-digit card.)"""
    ids = draw(st.lists(nine_digit_ids, min_size=3, max_size=12))
    bullet = draw(st.sampled_from(["", "- ", "* ", "numbered"]))
    end = draw(st.sampled_from(["", ",", ";"]))
    lines = []
    for number, value in enumerate(ids, 1):
        mark = f"{number}. " if bullet == "numbered" else bullet
        indent, trailing = draw(st.sampled_from(["", " ", "  ", "\t"])), draw(st.sampled_from(["", " ", "  "]))
        last = number == len(ids) and draw(st.booleans())  # the last line often without the comma
        lines.append(f"{indent}{mark}{value}{'' if last else end}{trailing}")
    line_break = draw(st.sampled_from(["\n", "\r\n"]))
    return line_break + line_break.join(lines) + line_break


_ORDINARY = [
    st.integers(0, 10**12 - 1).map(str),  # order numbers up to 12 digits
    st.text(string.digits, min_size=13, max_size=19).filter(_not_a_card),  # long numbers that are not cards
    st.from_regex(r"\+47 9[0-9]{2} [0-9]{2} [0-9]{3}", fullmatch=True),  # phones
    st.from_regex(r"\+47 [0-9]{2} [0-9]{2} [0-9]{2} [0-9]{2}", fullmatch=True),
    st.from_regex(r"\+1 \([0-9]{3}\) [0-9]{3}-[0-9]{4}", fullmatch=True),
    st.from_regex(r"00[0-9]{2} [0-9]{4} [0-9]{4}", fullmatch=True),
    ibans(),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda d: d.isoformat(sep=" ")
    ),
    st.times().map(lambda t: t.isoformat(timespec="seconds")),
    st.ip_addresses().map(str),
    st.lists(st.ip_addresses(v=4).map(str), min_size=2, max_size=8).map(", ".join),
    st.lists(st.ip_addresses(v=6).map(str), min_size=2, max_size=4).map(", ".join),
    st.integers(1, 999_999).map(lambda n: f"ACC-{n}"),
    st.integers(1, 999_999).map(lambda n: f"INC-{n:06d}"),
    st.lists(nine_digit_ids, min_size=2, max_size=8).map(" ".join),
    st.lists(nine_digit_ids, min_size=2, max_size=8).map(", ".join),
    st.lists(nine_digit_ids, min_size=2, max_size=8).map(",\n".join),
    st.lists(nine_digit_ids, min_size=2, max_size=8).map(lambda ids: "- " + "\n- ".join(ids)),
    _id_columns(),
    st.lists(_dates, min_size=2, max_size=6).flatmap(lambda ds: _joined(ds, _DATE_FORMATS)),
    _phone_lists.flatmap(lambda ps: _joined(ps, None)),
    st.integers(0, 10**10).map(lambda n: f"{n // 100:,}.{n % 100:02d}"),  # amounts
    st.uuids().map(str),
]


def ordinary_numbers() -> st.SearchStrategy[str]:
    return st.one_of(_ORDINARY)
