"""Card numbers never reach storage: the one detector every free-text path goes through.

What counts as a card number, on principle rather than by a list of formats:

- Digits are any Unicode decimal digit (fullwidth, Arabic-Indic, Persian...), read by their value. Invisible
  format characters (category Cf: zero-width space and joiners, soft hyphen, bidi marks, BOM...) are ignored.
- A number is a sequence of digit groups; between two groups stands a short run (1 to 3 characters) of
  anything that is neither a letter nor a digit: any space or separator, tab, line break, punctuation.
  Letters end the sequence, so a hyphen or a slash is enough to glue a card to a word (`order-4111...`).
- A soft break -- invisible characters alone, or one line break (\\n, \\r\\n, \\r, U+2028, U+2029...) with
  white space around it, between two digits -- is read both ways: as nothing (a number wrapped by a narrow
  field at any position: "41111111\\n11111111") and as a group separator.
- A card is a stretch of such a sequence, from a group start to a group end, that has an issuer prefix of a
  card network, a length that network issues, and passes the Luhn check, and is grouped as cards are:
  either one group (no separator inside; soft breaks read as nothing), or several groups of at most 6 digits
  where, counting the digits between separators (soft breaks read as nothing), the first group has at least
  4 digits, every other group but the last at least 3, groups of 3 come only as 4-3-3-3 or last, and groups
  of 5 only last (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3, 4-4-4-1). So two long groups side by side ("123456789 987654321") are two ids,
  and lists of dates or phone numbers ("30.11.2026, 01.12.2026", "(555) 010-0199; (555) 010-0200") are not
  cards.
- A column -- three or more lines in a row that each hold only a digit run, all runs of the same width
  (maybe with list punctuation: a bullet "- ", "* ", "1. " before it, a comma, semicolon or other punctuation
  mark after it, white space around it) -- is a list, not a wrapped number: inside it, line breaks are read only as separators, never as
  nothing ("123456789\\n987654321\\n555666777" holds no 18-digit card). A card wrapped over two lines (at any
  position) or over lines of unequal width is still found; so is one wrapped right under a list (the break
  between the list and the card is no line of the column, so it reads both ways and may take the last id along).
  A card cut into lines of one width and typed as a column is read as that grouping: "4111\\n1111\\n1111\\n1111"
  is found (4-4-4-4), two 18-digit cards cut 9|9 one under the other are a list of four ids.
- Every digit that some card reading covers is masked; overlapping readings make one masked stretch, so
  cards typed back to back leave none of their digits.
- Valid IBANs, IPv4 and IPv6 addresses and the redaction marker itself are never touched.

Linear time: the text goes through a few compiled regular expressions (the one finding columns compares widths
with a back reference, possessively: each line is looked at a bounded number of times) and str/bytes
translations, and every window is checked at once with integer arithmetic on byte lanes (one byte per digit:
sliding sums come from multiplying by 0x0101...01, or from or-ing shifted lanes). Python code runs per column,
per masked stretch and per IBAN or IPv6 candidate next to one, never per character.
"""

import bisect
import ipaddress
import itertools
import operator
import re
import sys
import unicodedata
from functools import cache, lru_cache, reduce

MARKER = "[card number removed, ending {}]"

# Issuer prefixes, by the card lengths allowed after them. Each prefix is a sequence of digit sets.
#   visa 4 (13, 16, 19)
#   maestro 50, 56-69 (13-19) -- covers discover 6011/644-649/65/622126-622925, unionpay 62, rupay 60/65/508
#   mastercard 51-55, 2221-2720 and rupay 81, 82 (16)
#   mir 2200-2204, jcb 3528-3589 (16-19)
#   diners 300-305, 36, 38, 39 (14-19)
#   amex 34, 37 (15)
_ISSUERS: list[tuple[list[tuple[str, ...]], tuple[int, ...]]] = [
    ([("4",)], (13, 16, 19)),
    ([("5", "06789"), ("6",)], (13, 14, 15, 16, 17, 18, 19)),
    ([("5", "12345"), ("8", "12"), ("2", "2", "2", "123456789"), ("2", "2", "3456789"), ("2", "3456")], (16,)),
    ([("2", "7", "01"), ("2", "7", "2", "0")], (16,)),
    ([("2", "2", "0", "01234"), ("3", "5", "2", "89"), ("3", "5", "345678")], (16, 17, 18, 19)),
    ([("3", "0", "012345"), ("3", "689")], (14, 15, 16, 17, 18, 19)),
    ([("3", "47")], (15,)),
]
_LENGTHS = range(13, 20)

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


_LINE_BREAKS = "\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _build_table() -> str:
    """One character per code point: decimal digits of every script become their ASCII digit, letters
    'x', invisible format characters NUL, line breaks '\\n' ('\\r' for a carriage return), other white space
    ' ', everything else (punctuation, symbols...) '-'."""
    table = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        if category == "Nd":
            table.append(str(unicodedata.decimal(char)))
        elif category == "Cf":
            table.append("\x00")
        elif char.isalnum():
            table.append("x")
        elif char in _LINE_BREAKS:
            table.append("\n")
        elif char == "\r":
            table.append("\r")
        elif char.isspace():
            table.append(" ")
        elif char == ".":
            table.append(".")  # kept apart for a moment, to find IPv4 addresses
        else:
            table.append("-")
    return "".join(table)


_CLASSES = _build_table()
# Positions in the original text, for mapping digits back: past what is not a digit, then past count digits
# and what follows each, to the start of the next digit.
_SKIP_DIGITS = [re.compile(rb"[^0-9]*(?:[0-9][^0-9]*){%d}" % count) for count in range(64)]
_DIGIT_STEPS = [re.compile(rb"(?:[0-9][^0-9]*){%d}" % (1 << power)) for power in range(22)]
# Between two digits: invisible characters only, or one line break with white space (and invisible characters)
# around it. Read both ways: as nothing (the digits join) and as a group separator.
_SOFT_BREAK = re.compile(rb"(?<=[0-9])(?:[ \x00]*(?:\r\x00*\n|\r|\n)[ \x00]*|\x00+)(?=[0-9])")
# What only a soft break of two characters or more holds (cheap to look for: no look-behind).
_LONGER_SOFT_BREAK = re.compile(rb"[ \x00][\n\r]|[\n\r][ \x00]|\x00\x00")
# Four dot-separated groups of at most 3 digits: an IPv4 address (or a version number), at most 12 digits, so
# never a card by itself. Fenced off with a letter on each side so that its digits never join a card next to it.
# A soft break ('~') joins digits: a quad it continues is no quad.
_QUAD_AHEAD = rb"(?=[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9~])(?!\.[0-9]))"
# The character before a dotted quad (run again on the reversed text: the character after it).
_BEFORE_DOTTED_QUAD = re.compile(rb"(?:(?<![0-9~])\.|[^0-9.~])" + _QUAD_AHEAD)
# A column: three or more lines that each hold only a digit run of the same width (a list of ids, one per line),
# maybe with list punctuation: a bullet ("- ", "* ", "1. ", "2) ") before it, one punctuation mark after it (a
# comma, a semicolon...), white space around it. Looked for in a view of the character classes where every digit is 'd', white space
# and invisible characters 'f', and every line starts after a '\n': the back reference makes the widths equal.
# Possessive: each part is delimited by what follows it, so nothing is ever given back (fewer steps per line).
# Either no line has a numbered bullet or every line has one: otherwise the end of a number wrapped onto the
# next line, followed by a comma and the start of another wrapped number ("0000009, 35280000"), would read as a
# numbered bullet and make two wrapped cards one under the other look like a column.
_COLUMN_BULLET = rb"f*+(?:-f++)?"
_COLUMN_NUMBERED = rb"f*+d{1,9}+[.-]f++"
_COLUMN_END = rb"f*+-?+f*+(?=\n|\Z)"
_COLUMN = re.compile(
    rb"\n" + _COLUMN_BULLET + rb"(d++)" + _COLUMN_END + rb"(?:\n" + _COLUMN_BULLET + rb"\1" + _COLUMN_END + rb"){2,}+"
    rb"|\n"
    + _COLUMN_NUMBERED
    + rb"(d++)"
    + _COLUMN_END
    + rb"(?:\n"
    + _COLUMN_NUMBERED
    + rb"\2"
    + _COLUMN_END
    + rb"){2,}+"
)
_COLUMN_VIEW = bytes.maketrans(b"0123456789 \x00\r", b"ddddddddddff\n")
_BREAKS_AS_SEPARATORS = bytes.maketrans(b"\n\r", b"--")
_THIRTEEN_DIGITS = re.compile(rb"[0-9](?:[ ~]{0,3}[0-9]){12}")
_SEPARATORS_AS_SPACE = bytes.maketrans(b".-\n\r", b"    ")
_MARKER_BEFORE = "[card number removed, ending "
_MARKERS = re.compile(re.escape(_MARKER_BEFORE) + r"[0-9]{4}\]")
_MARKER_BLANK = _MARKER_BEFORE + "xxxx]"
_IBAN_HINT = re.compile(r"[A-Z]{2}[0-9]{2}")
_IBAN = re.compile(r"(?=([A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]){11,31}))")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
# Spans of covered digits, in the digit-lane string of _spans_of_digits: crossing into the next digit, or last.
_SPAN = re.compile(rb"\x01*\x02")


def _lanes(pairs) -> bytes:
    table = bytearray(256)
    for key, value in pairs:
        table[key] = value
    return bytes(table)


_DIGIT_BYTES = b"0123456789"
_ALL_BYTES = bytes(range(256))
_NOT_DIGITS = bytes(b for b in _ALL_BYTES if b not in _DIGIT_BYTES)
_IS_DIGIT = _lanes((b, 1) for b in _DIGIT_BYTES)
_IS_BREAK = _lanes([(ord("x"), 1)])
_IS_SOFT_CHAR = _lanes([(0, 1), (ord("\n"), 1), (ord("\r"), 1)])
_SOFT_AS_TILDE = bytes.maketrans(b"\x00\n\r", b"~~~")
_IS_HARD = _lanes([(ord("x"), 1), (ord(" "), 1)])
_IS_GAP = _lanes((b, 1) for b in _ALL_BYTES if b not in _DIGIT_BYTES)
_PLAIN = _lanes((ord("0") + d, d) for d in range(10))
_DOUBLED = _lanes((ord("0") + d, 2 * d - 9 if d > 4 else 2 * d) for d in range(10))
_MOD10 = _lanes((v, 1) for v in range(0, 256, 10))
_ZERO = _lanes([(0, 1)])
_NONZERO = _lanes((v, 1) for v in range(1, 256))
_DROP_ZERO = b"\x00"
# Per-digit code: 1 + the sum of these bits, read back one bit at a time.
_BITS = {"group_start": 1, "sequence_start": 2, "group_end": 4, "hard_start": 8, "hard_end": 16}
_BIT_LANES = {
    name: _lanes((code, (code - 1) >> (bit.bit_length() - 1) & 1) for code in range(1, 33))
    for name, bit in _BITS.items()
}


@cache
def _ones(width: int) -> int:
    """0x0101...01 with `width` lanes: multiplying by it sums each lane with the width - 1 lanes below it."""
    return int.from_bytes(b"\x01" * width, "little")


def _int(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _bytes(value: int, size: int) -> bytes:
    """The `size` lowest lanes of value. Lanes past them (a sliding sum reaches up to 19 lanes further) are cut off
    by slicing, cheaper than masking a long integer."""
    try:
        return value.to_bytes(size + 32, "little")[:size]
    except OverflowError:  # negative, or longer still
        return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def _window_sum(value: int, width: int, size: int) -> bytes:
    return _bytes(value * _ones(width), size)


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # each digit doubled, less 9 past 9


def luhn_valid(digits: str) -> bool:
    """The Luhn check (for single numbers; the detector checks every window at once in _covered): every second
    digit from the right doubled, less 9 past 9, and the sum a multiple of 10."""
    total = sum(_LUHN_DOUBLED[int(char)] if index % 2 else int(char) for index, char in enumerate(reversed(digits)))
    return total % 10 == 0


def _skeleton(text: str) -> tuple[bytes, bytes]:
    """The ASCII skeleton of the text: its digits in order, ' ' for a separator, '~' for a soft break (invisible
    characters, or a line break, between two digits), 'x' for a letter or for the first four characters of a
    longer run of separators. Other invisible characters are dropped. Also the text's character classes, one
    byte per character (its digits where the text has them)."""
    per_character = text.translate(_CLASSES).encode("ascii")
    classes = b"x" + per_character
    if b"\x00" in classes or b"\n" in classes or b"\r" in classes:
        # One character between two digits, in bulk on byte lanes; longer soft breaks by the regular expression.
        classes = classes.replace(b"\r\n", b"\n")
        if b"\n" in classes or b"\r" in classes:
            classes = _columns_apart(classes)
        size = len(classes)
        single = _int(classes.translate(_IS_SOFT_CHAR))
        digit = _int(classes.translate(_IS_DIGIT))
        single &= digit << 8 & digit >> 8
        if single:
            mask = single * 0xFF
            marked = _int(classes.translate(_SOFT_AS_TILDE))
            classes = _bytes((_int(classes) & ~mask) | (marked & mask), size)
        if _LONGER_SOFT_BREAK.search(classes):
            classes = _SOFT_BREAK.sub(b"~", classes)
        classes = classes.translate(None, b"\x00")
    if b"." in classes:
        classes = _BEFORE_DOTTED_QUAD.sub(b"x", classes)
        classes = _BEFORE_DOTTED_QUAD.sub(b"x", classes[::-1])[::-1]
    return per_character, classes.translate(_SEPARATORS_AS_SPACE).replace(b"    ", b"xxxx")


def _columns_apart(classes: bytes) -> bytes:
    """The character classes with every line break inside a column (three or more lines of equal-width digit
    runs) made a plain separator ('-'): a list of ids one per line, never a number wrapped across lines."""
    view = b"\n" + classes[1:].translate(_COLUMN_VIEW)  # classes[0] is the sentinel 'x'
    pieces, position = [], 0
    for match in _COLUMN.finditer(view):
        start, end = match.start() + 1, match.end()  # from the column's first line: not the break before it
        pieces += (classes[position:start], classes[start:end].translate(_BREAKS_AS_SEPARATORS))
        position = end
    if not pieces:
        return classes
    pieces.append(classes[position:])
    return b"".join(pieces)


def _lengths_by_first_four() -> list[frozenset[int]]:
    """For each number 0000-9999 (the first four digits of a card), the card lengths its issuers allow."""
    allowed: list[set[int]] = [set() for _ in range(10_000)]
    for prefixes, lengths in _ISSUERS:
        for prefix in prefixes:
            for digits in itertools.product(*prefix, *["0123456789"] * (4 - len(prefix))):
                allowed[int("".join(digits))].update(lengths)
    return [frozenset(lengths) for lengths in allowed]


def _issuer_tables() -> tuple[bytes, bytes, dict[int, bytes]]:
    """Translation tables that find issuer prefixes in bulk, from a lane per digit holding the pair it starts
    (10 * digit + next digit): the first pair's class times the number of second-pair classes, the second pair's
    class, and per card length which sums of the two allow it. Pairs are grouped by what they decide: first
    pairs with the same lengths for every second pair are one class, and so on."""
    allowed = _lengths_by_first_four()
    rows = [tuple(allowed[100 * first + second] for second in range(100)) for first in range(100)]
    first_classes = list(dict.fromkeys(rows))
    columns = [tuple(row[second] for row in first_classes) for second in range(100)]
    second_classes = list(dict.fromkeys(columns))
    # A guard on the build (10 x 6 classes today, far under): its mutants cannot fail.
    assert len(first_classes) * len(second_classes) <= 256  # pragma: no mutate (a guard, see above)
    first = bytes(first_classes.index(rows[pair]) * len(second_classes) for pair in range(100)) + bytes(156)
    second = bytes(second_classes.index(columns[pair]) for pair in range(100)) + bytes(156)
    by_length = {
        length: _lanes(
            (a * len(second_classes) + b, 1)
            for a, row in enumerate(first_classes)
            for b, column in enumerate(second_classes)
            if length in column[a]
        )
        for length in _LENGTHS
    }
    return first, second, by_length


_FIRST_PAIR, _SECOND_PAIR, _ISSUER_LENGTH = _issuer_tables()


def _issuer_starts(digits: bytes, size: int) -> dict[int, int]:
    """For each card length, the lanes where a digit starts an issuer prefix allowing that length: each lane's
    first four digits, read as two pairs, classed by two translations and the sum looked up per length."""
    plain = _int(digits.translate(_PLAIN))
    pairs = _bytes(plain * 10 + (plain >> 8), size)  # 10 * digit + next digit: at most 99, no carry
    second = pairs.translate(_SECOND_PAIR)
    codes = _bytes(_int(pairs.translate(_FIRST_PAIR)) + _int(second[2:]), size)  # at most 255, no carry
    return {length: _int(codes.translate(table)) for length, table in _ISSUER_LENGTH.items()}


class _Clear:
    """Lanes (one byte per digit, 0 or 1) with no 1 among the `width` lanes ending at each, for growing widths:
    widths already or-ed are or-ed together by shifting (doubling up to the first width asked for, then by the
    widest that fits): a few shifts per width, cheaper than a sliding sum per width."""

    def __init__(self, lanes: int, every: int):
        self.every = every  # a 1 in every lane of the text
        self.ored = {1: lanes}  # width: the lanes or-ed over that width

    def seen(self, width: int) -> int:
        """The lanes or-ed over `width` lanes (reaching past the text)."""
        widest = max(self.ored)
        while widest < width:
            step = max(seen for seen in self.ored if seen <= width - widest)
            self.ored[widest + step] = self.ored[widest] | self.ored[step] << (8 * widest)
            widest += step
        return self.ored[width]

    def clear(self, width: int) -> int:
        return self.every & ~self.seen(width)


def _covered(skeleton: bytes) -> tuple[bytes, bytes]:
    """(digits, lanes): the skeleton's digits, and per digit 0 when no card reading covers it, 1 when one covers
    it and the next digit too, 2 when it ends a stretch of covered digits."""
    digits = skeleton.translate(None, _NOT_DIGITS)
    if not _THIRTEEN_DIGITS.search(skeleton):
        return digits, b""  # no sequence is long enough for a card: most texts stop here
    length_of_skeleton = len(skeleton)
    is_digit = _int(skeleton.translate(_IS_DIGIT))
    is_gap = _int(skeleton.translate(_IS_GAP))
    is_hard = _int(skeleton.translate(_IS_HARD))
    is_break = _int(skeleton.translate(_IS_BREAK))
    last = 1 << (8 * (length_of_skeleton - 1))
    # A digit starts a new sequence unless 1 to 3 separators (a longer run became 'xxxx') stand after a digit.
    is_separator = is_gap & ~is_break
    after_digit = is_digit << 16 & is_separator << 8
    after_digit |= is_digit << 24 & is_separator << 16 & is_separator << 8
    after_digit |= is_digit << 32 & is_separator << 24 & is_separator << 16 & is_separator << 8
    group_start = is_digit & is_gap << 8
    codes = _bytes(
        is_digit
        + group_start * _BITS["group_start"]
        + (group_start & ~after_digit) * _BITS["sequence_start"]
        + (is_digit & (is_gap >> 8 | last)) * _BITS["group_end"]
        + (is_digit & is_hard << 8) * _BITS["hard_start"]
        + (is_digit & (is_hard >> 8 | last)) * _BITS["hard_end"],
        length_of_skeleton,
    ).translate(None, _DROP_ZERO)
    size = len(digits)
    lanes = {name: _int(codes.translate(table)) for name, table in _BIT_LANES.items()}
    group_start, sequence_start, group_end = lanes["group_start"], lanes["sequence_start"], lanes["group_end"]
    hard_start, hard_end = lanes["hard_start"], lanes["hard_end"]
    # Digits in a group of 7 or more: no group start among the 6 digits before some digit of the group.
    run_of_seven = _int(_window_sum(group_start, 6, size).translate(_ZERO)) >> 48 << 48
    long_group = _int(_window_sum(run_of_seven, 7, size + 6)[6:].translate(_NONZERO))
    # Groups between separators (soft breaks read as nothing) that no card grouping has before its last group:
    # fewer than 3 digits, or 3 digits followed by a longer group (a phone number: 555 010 0199).
    # Groups of 3 come only as 4-3-3-3 or last: a 3 then a longer group is a phone number (555 010 0199), and so
    # is a 3 after a group of 4 or more that is not the first. (After the first, such a 3 ends at least 10
    # digits into the window: the first group and the one before the 3 have 4 digits or more.)
    short = hard_end & (hard_start | hard_start << 8)
    three = hard_end & hard_start << 16 & ~(hard_start << 8) & ~hard_start
    three_then_longer = three & ~(group_end >> 8) & ~(group_end >> 16) & ~(group_end >> 24)
    longer_then_three = three & ~(group_start << 24) & ~(group_start << 32) & ~(group_start << 40)
    # A group of 5 comes only last (4-6-5): "3020, 09704 533732" is two phone numbers. (Ending 4 digits or more
    # into the window: a first group clipped by the window may hold 5 digits with what a soft break joins.)
    five = hard_end & hard_start << 32 & ~(hard_start << 24) & ~(hard_start << 16) & ~(hard_start << 8) & ~hard_start
    # Read as several groups: no long group, no short group but the last, all in one sequence.
    bad_grouped = long_group | sequence_start | (short | three_then_longer) << 8
    # Read as one group: no separator inside (soft breaks read as nothing).
    one_group = b"\x00" in _window_sum(hard_start, 12, size)  # some 13 digits hold no separator
    bad_ungrouped = sequence_start | hard_end << 8
    # The first group, up to its separator, has at least 4 digits.
    first_group = group_start & ~(hard_end | hard_end >> 8 | hard_end >> 16)
    plain = digits.translate(_PLAIN)
    doubled = digits.translate(_DOUBLED)
    even_plain = bytearray(plain)
    even_plain[1::2] = doubled[1::2]  # rightmost digit at an even index
    odd_plain = bytearray(doubled)
    odd_plain[1::2] = plain[1::2]  # rightmost digit at an odd index
    even_plain, odd_plain = _int(even_plain), _int(odd_plain)
    luhn_width = even_sums = odd_sums = 0
    card_starts: dict[int, int] = {}  # length: the lanes where a card of that length starts
    mask = (1 << (8 * size)) - 1
    every = _int(b"\x01" * size)
    no_bad_grouped = _Clear(bad_grouped, every)
    no_five = _Clear(five << 8, every)
    no_longer_then_three = _Clear(longer_then_three << 8, every)
    no_bad_ungrouped = _Clear(bad_ungrouped, every)
    for length, starts in _issuer_starts(digits, size).items():
        starts &= first_group
        if not starts:
            continue
        shift = 8 * (length - 1)
        ends = group_end & (starts << shift) & mask
        if not ends:
            continue
        whole = no_bad_grouped.clear(length - 1)
        if five:
            whole &= no_five.clear(length - 5)
        if longer_then_three:
            whole &= no_longer_then_three.clear(length - 11)
        if one_group:
            whole |= no_bad_ungrouped.clear(length - 1)
        ends &= whole
        if not ends:
            continue
        if not luhn_width:  # sliding sums over the first length asked for, then grown a lane at a time
            luhn_width = length
            even_sums, odd_sums = even_plain * _ones(length), odd_plain * _ones(length)
        while luhn_width < length:
            even_sums += even_plain << (8 * luhn_width)
            odd_sums += odd_plain << (8 * luhn_width)
            luhn_width += 1
        sums = bytearray(_bytes(even_sums, size))
        sums[1::2] = _bytes(odd_sums, size)[1::2]
        ends &= _int(sums.translate(_MOD10))
        if not ends:
            continue
        card_starts[length] = ends >> shift
    if not card_starts:
        return digits, b""
    # A card of length L covers the L lanes from its start: lane k on (k < L) from the starts of cards longer
    # than k. It crosses into the next digit on its first L - 1 lanes.
    every_start = _Clear(reduce(operator.or_, card_starts.values()), every)
    crossing = every_start.seen(_LENGTHS[0] - 1)
    covered = every_start.seen(_LENGTHS[0])
    for lanes_on in range(_LENGTHS[0] - 1, _LENGTHS[-1]):
        longer = [starts for length, starts in card_starts.items() if length > lanes_on + 1]
        if longer:
            crossing |= reduce(operator.or_, longer) << (8 * lanes_on)
        if lanes_on >= _LENGTHS[0]:
            longer = [starts for length, starts in card_starts.items() if length > lanes_on]
            if longer:
                covered |= reduce(operator.or_, longer) << (8 * lanes_on)
    covered &= mask
    return digits, _bytes(covered + (covered & ~crossing), size)


_IBAN_DIGITS = {ord(char): str(int(char, 36)) for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _iban_valid(iban: str) -> bool:
    if not iban.isascii() or not iban.isalnum():
        return False
    return int((iban[4:] + iban[:4]).translate(_IBAN_DIGITS)) % 97 == 1


def _skip(text: bytes, position: int, count: int) -> int:
    """From position, the start of the count-th digit after the digits before position (count 0: the next)."""
    if count < len(_SKIP_DIGITS):
        return _SKIP_DIGITS[count].match(text, position).end()
    position = _SKIP_DIGITS[0].match(text, position).end()
    power = len(_DIGIT_STEPS) - 1
    while count:
        while count < 1 << power:
            power -= 1
        position = _DIGIT_STEPS[power].match(text, position).end()
        count -= 1 << power
    return position


def _find(text: str) -> list[tuple[int, int, str]]:
    """(start, end, last four digits) of each stretch of card digits in text, in order.

    Every digit that some card reading covers is taken; readings that overlap make one stretch. Valid IBANs,
    IPv6 addresses and redaction markers are blanked out (to letters) and the text is read again."""
    scan = _MARKERS.sub(_MARKER_BLANK, text) if _MARKER_BEFORE in text else text
    for _ in range(4):
        per_character, skeleton = _skeleton(scan)
        digits, lanes = _covered(skeleton)
        if not lanes:
            return []
        spans = _spans(per_character, digits, lanes)
        if ":" not in scan and not _IBAN_HINT.search(scan):
            return spans
        protected = _protected(scan, spans)
        if not protected:
            return spans
        pieces, position = [], 0
        for start, end in protected:
            pieces += (scan[position:start], "x" * (end - start))
            position = end
        scan = "".join(pieces) + scan[position:]
    return spans


def _spans(text: bytes, digits: bytes, lanes: bytes) -> list[tuple[int, int, str]]:
    """(start, end, last four digits) of each stretch of covered digits, in text: the per-character classes."""
    spans = []
    position = at = 0  # at: how many digits text[:position] holds
    for match in _SPAN.finditer(lanes):
        first, end = match.span()
        position = _skip(text, position, first - at)
        stop = _skip(text, position, end - 1 - first) + 1
        spans.append((position, stop, digits[end - 4 : end].decode()))
        position, at = stop, end
    return spans


def _protected(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Sorted, disjoint (start, end) of the valid IBANs and IPv6 addresses that overlap a span. Each candidate
    in the text is looked at once; only those overlapping a span are checked."""
    starts = [start for start, _, _ in spans]

    def overlaps(start: int, end: int) -> bool:
        index = bisect.bisect_left(starts, end) - 1
        # Only saves work: blanking a valid IBAN or address that overlaps no card (or only touches one) changes no reading.
        return index >= 0 and spans[index][1] > start  # pragma: no mutate (a filter that only saves work, see above)

    found = []
    if ":" in text:
        for match in _IPV6.finditer(text):
            if overlaps(*match.span()):
                cut = _ipv6_start(match.group().rstrip("."))
                if cut is not None:  # what the cut skips is hex letters, read as letters when blanked or not
                    start = match.start() + cut  # pragma: no mutate (see above)
                    found.append((start, match.start() + len(match.group().rstrip("."))))
    if _IBAN_HINT.search(text):
        for match in _IBAN.finditer(text):
            candidate = match.group(1)
            if not overlaps(match.start(), match.start() + len(candidate)):
                continue
            length = _iban_length(candidate)
            if length and overlaps(match.start(), match.start() + length):
                found.append((match.start(), match.start() + length))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=4096)
def _ipv6_start(token: str) -> int | None:
    """Where a valid IPv6 address starts in token, if it is one: an address glued to a word ("see2001:db8::1")
    starts after up to 4 hex letters of it."""
    for cut in range(5):
        try:
            ipaddress.IPv6Address(token[cut:])
        except ValueError:
            continue
        return cut
    return None


@lru_cache(maxsize=4096)
def _iban_length(candidate: str) -> int:
    """How many characters of candidate (from its start) a valid IBAN takes, or 0."""
    compact = candidate.replace(" ", "")
    length = IBAN_LENGTHS.get(compact[:2])
    if not length or len(compact) < length or not _iban_valid(compact[:length]):
        return 0
    # The IBAN ends at its length-th character that is not a space.
    return [index for index, char in enumerate(candidate) if char != " "][length - 1] + 1


def redact(text: str) -> tuple[str, int]:
    """(text with card numbers masked, how many stretches were masked)."""
    if not text:
        return text, 0
    spans = _find(text)
    if not spans:
        return text, 0
    ends = [0, *(end for _, end, _ in spans)]
    pieces = [
        piece
        for (start, _, last_four), previous_end in zip(spans, ends, strict=False)
        for piece in (text[previous_end:start], _MARKER_BEFORE, last_four, "]")
    ]
    pieces.append(text[ends[-1] :])
    return "".join(pieces), len(spans)


def redacted(text: str) -> str:
    return redact(text)[0]


def contains_card_number(text: str) -> bool:
    """For fields that must refuse a card number (an email address, a reference) rather than mangle it."""
    return bool(text) and bool(_find(text))
