"""Card numbers never reach storage: the one detector every free-text path goes through.

What counts as a card number, on principle rather than by a list of formats:

- Digits are any Unicode decimal digit (fullwidth, Arabic-Indic, Persian...), read by their value. Invisible
  format characters (category Cf: zero-width space and joiners, soft hyphen, bidi marks, BOM...) are ignored.
- A number is a sequence of digit groups; between two groups stands a short run (1 to 3 characters) of
  anything that is neither a letter nor a digit: any space or separator, tab, line break, punctuation.
  Letters end the sequence, so a hyphen or a slash is enough to glue a card to a word (`order-4111...`).
- A card is a whole-group stretch of such a sequence that has an issuer prefix of a card network, a length
  that network issues, and passes the Luhn check. It is one ungrouped run of 13 to 19 digits, or several
  groups of at most 6 digits each (4-4-4-4, 4-6-5, ...): two long groups side by side ("123456789
  987654321") are two ids, not a card. When a sequence holds more than a card (a CVV, an expiry), the
  longest card starting leftmost is taken.
- Valid IBANs, IPv4 and IPv6 addresses and the redaction marker itself are never touched.

Linear time: the text goes through a few compiled regular expressions and str/bytes translations, and every
window is checked at once with integer arithmetic on byte lanes (one byte per digit: sliding sums come from
multiplying by 0x0101...01). Python code runs per card found, never per character.
"""

import bisect
import ipaddress
import operator
import re
import sys
import unicodedata
from functools import cache

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


def _build_table() -> str:
    """One character per code point: decimal digits of every script become their ASCII digit, letters
    'x', invisible format characters NUL, everything else (spaces, punctuation, symbols...) a space."""
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
        elif char == ".":
            table.append(".")  # kept apart for a moment, to find IPv4 addresses
        else:
            table.append(" ")
    return "".join(table)


_CLASSES = _build_table()
# Positions in the original text: digits, for mapping windows back.
_NON_DIGITS = re.compile(r"\D*")
# From the start of a digit: past count digits and what follows them, to the start of the next digit.
_DIGITS_AHEAD = [re.compile(rf"(?:\d\D*){{{count}}}") for count in range(64)]
_DIGIT_STEPS = [re.compile(rf"(?:\d\D*){{{1 << power}}}") for power in range(22)]
# From the start of a card's first digit: to the end of its last.
_CARD_DIGITS = {length: re.compile(rf"(?:\d\D*){{{length - 1}}}\d") for length in _LENGTHS}
_INVISIBLE_BETWEEN_DIGITS = re.compile(rb"(?<=[0-9])\x00+(?=[0-9])")
_MARKER_BEFORE = "[card number removed, ending "
# Four dot-separated groups of at most 3 digits: an IPv4 address (or a version number), at most 12 digits, so
# never a card by itself. Fenced off with a letter on each side so that its digits never join a card next to it.
_QUAD_AHEAD = rb"(?=[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9])(?!\.[0-9]))"
# The character before a dotted quad (run again on the reversed text: the character after it).
_BEFORE_DOTTED_QUAD = re.compile(rb"(?:(?<![0-9])\.|[^0-9.])" + _QUAD_AHEAD)
_THIRTEEN_DIGITS = re.compile(rb"[0-9](?: {0,3}[0-9]){12}")
_DOT_IS_SPACE = bytes.maketrans(b".", b" ")
_IBAN_HINT = re.compile(r"[A-Z]{2}[0-9]{2}")
_IBAN = re.compile(r"(?=([A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]){11,31}))")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


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
_IS_SPACE = _lanes([(ord(" "), 1)])
_IS_GAP = _lanes((b, 1) for b in _ALL_BYTES if b not in _DIGIT_BYTES)
_PLAIN = _lanes((ord("0") + d, d) for d in range(10))
_DOUBLED = _lanes((ord("0") + d, 2 * d - 9 if d > 4 else 2 * d) for d in range(10))
_MOD10 = _lanes((v, 1) for v in range(0, 256, 10))
_ZERO = _lanes([(0, 1)])
_NONZERO = _lanes((v, 1) for v in range(1, 256))
_DROP_ZERO = b"\x00"
# Per-digit code (1 + group start + 2 * sequence start + 4 * group end), read back one bit at a time.
_GROUP_START = _lanes((code, (code - 1) & 1) for code in range(1, 9))
_SEQUENCE_START = _lanes((code, (code - 1) >> 1 & 1) for code in range(1, 9))
_GROUP_END = _lanes((code, (code - 1) >> 2 & 1) for code in range(1, 9))


@cache
def _ones(width: int) -> int:
    """0x0101...01 with `width` lanes: multiplying by it sums each lane with the width - 1 lanes below it."""
    return int.from_bytes(b"\x01" * width, "little")


def _int(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _bytes(value: int, size: int) -> bytes:
    return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def _window_sum(value: int, width: int, size: int) -> bytes:
    return _bytes(value * _ones(width), size)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _skeletons(text: str) -> list[bytes]:
    """ASCII skeletons of the text: its digits in order, ' ' for a separator, 'x' for a letter or the first
    four characters of a longer run of separators. Invisible format characters are dropped; when there are
    any, a second skeleton reads those standing between two digits as a separator (a card is looked for
    both ways: '4111<ZWSP>1111' is one group or two)."""
    classes = b"x" + text.translate(_CLASSES).encode("ascii")
    skeletons = [classes.translate(None, b"\x00")]
    if len(skeletons[0]) < len(classes):
        skeletons.append(_INVISIBLE_BETWEEN_DIGITS.sub(b" ", classes).translate(None, b"\x00"))
    if b"." in classes:
        skeletons = [_fence_dotted_quads(skeleton) for skeleton in skeletons]
    return [skeleton.replace(b"    ", b"xxxx") for skeleton in skeletons]


def _fence_dotted_quads(skeleton: bytes) -> bytes:
    skeleton = _BEFORE_DOTTED_QUAD.sub(b"x", skeleton)
    return _BEFORE_DOTTED_QUAD.sub(b"x", skeleton[::-1])[::-1].translate(_DOT_IS_SPACE)


def _issuer_starts(digits: bytes, size: int) -> dict[int, int]:
    """For each card length, the lanes where a digit starts an issuer prefix allowing that length."""
    sets: dict[str, int] = {}

    def digit_set(chars: str) -> int:
        if chars not in sets:
            sets[chars] = _int(digits.translate(_lanes((ord(c), 1) for c in chars)))
        return sets[chars]

    by_length: dict[int, int] = dict.fromkeys(_LENGTHS, 0)
    for prefixes, lengths in _ISSUERS:
        mask = 0
        for prefix in prefixes:
            lanes = digit_set(prefix[0])
            for position, chars in enumerate(prefix[1:], 1):
                lanes &= digit_set(chars) >> (8 * position)
            mask |= lanes
        for length in lengths:
            by_length[length] |= mask
    return by_length


def _cards(digits: bytes, codes: bytes) -> set[tuple[int, int]]:
    """(first digit index, length) of every whole-group, issuer-prefixed, Luhn-valid window."""
    size = len(digits)
    group_start = _int(codes.translate(_GROUP_START))
    sequence_start = _int(codes.translate(_SEQUENCE_START))
    group_end = _int(codes.translate(_GROUP_END))
    # Digits in a group of 7 or more: no group start among the 6 digits before some digit of the group.
    run_of_seven = _int(_window_sum(group_start, 6, size).translate(_ZERO)) >> 48 << 48
    long_group = _int(_window_sum(run_of_seven, 7, size + 6)[6:].translate(_NONZERO))
    # Windows of several groups must not hold a long group nor cross into the next sequence.
    bad = long_group | sequence_start
    plain = digits.translate(_PLAIN)
    doubled = digits.translate(_DOUBLED)
    even_plain = bytearray(plain)
    even_plain[1::2] = doubled[1::2]  # rightmost digit at an even index
    odd_plain = bytearray(doubled)
    odd_plain[1::2] = plain[1::2]  # rightmost digit at an odd index
    even_plain, odd_plain = _int(even_plain), _int(odd_plain)
    found: set[tuple[int, int]] = set()
    for length, starts in _issuer_starts(digits, size).items():
        starts &= group_start
        if not starts:
            continue
        shift = 8 * (length - 1)
        ends = group_end & (starts << shift)
        if not ends & ((1 << (8 * size)) - 1):
            continue
        short_groups = _int(_window_sum(bad, length - 1, size).translate(_ZERO))
        if long_group:  # a window may also be one ungrouped run of exactly this length
            short_groups |= _int(_window_sum(group_start, length - 1, size).translate(_ZERO))
        ends &= short_groups
        if not ends:
            continue
        sums = bytearray(_window_sum(even_plain, length, size))
        sums[1::2] = _window_sum(odd_plain, length, size)[1::2]
        ends &= _int(sums.translate(_MOD10))
        if not ends:
            continue
        for match in re.finditer(b"\x01", _bytes(ends, size)):
            found.add((match.start() - length + 1, length))
    return found


def _protected(text: str, start: int, end: int) -> bool:
    """Does text[start:end] overlap a valid IBAN, an IPv6 address or a redaction marker?"""
    if text.endswith(_MARKER_BEFORE, 0, start):
        return True  # the digits an earlier redaction kept
    offset = max(0, start - 60)
    around = text[offset : end + 60]
    if ":" in around:
        for match in _IPV6.finditer(around):
            if match.start() + offset < end and match.end() + offset > start:
                token = match.group().rstrip(".")
                # An address glued to a word ("see2001:db8::1") starts after up to 4 hex letters of it.
                for candidate in (token[cut:] for cut in range(5)):
                    try:
                        ipaddress.IPv6Address(candidate)
                    except ValueError:
                        continue
                    return True
    for match in _IBAN.finditer(around):
        candidate = match.group(1)
        compact = candidate.replace(" ", "")
        length = IBAN_LENGTHS.get(compact[:2])
        if not length or len(compact) < length or not _iban_valid(compact[:length]):
            continue
        # The IBAN ends at its length-th character that is not a space.
        last = match.start() + [i for i, char in enumerate(candidate) if char != " "][length - 1]
        if match.start() + offset < end and last + 1 + offset > start:
            return True
    return False


def _iban_valid(iban: str) -> bool:
    if not iban.isascii() or not iban.isalnum():
        return False
    return int("".join(str(int(char, 36)) for char in iban[4:] + iban[:4])) % 97 == 1


def _advance(text: str, position: int, count: int) -> int:
    """From the start of a digit, the start of the count-th digit after it."""
    if count < len(_DIGITS_AHEAD):
        return _DIGITS_AHEAD[count].match(text, position).end()
    power = 21
    while count:
        while count < 1 << power:
            power -= 1
        position = _DIGIT_STEPS[power].match(text, position).end()
        count -= 1 << power
    return position


def _windows(skeleton: bytes) -> set[tuple[int, int]]:
    if not _THIRTEEN_DIGITS.search(skeleton):
        return set()  # no sequence is long enough for a card: most texts stop here
    digits = skeleton.translate(None, _NOT_DIGITS)
    size = len(skeleton)
    is_digit = _int(skeleton.translate(_IS_DIGIT))
    is_gap = _int(skeleton.translate(_IS_GAP))
    is_break = _int(skeleton.translate(_IS_BREAK))
    is_space = _int(skeleton.translate(_IS_SPACE))
    group_start = is_digit & is_gap << 8
    # A letter, then at most three separators (a longer run became 'xxxx'), then this digit.
    after_break = is_break << 8 | (is_break << 16 & is_space << 8) | (is_break << 24 & is_space << 16 & is_space << 8)
    sequence_start = is_digit & after_break
    group_end = is_digit & (is_gap >> 8 | 1 << (8 * (size - 1)))
    codes = _bytes(is_digit + group_start + (sequence_start << 1) + (group_end << 2), size)
    return _cards(digits, codes.translate(None, _DROP_ZERO))


def _find(text: str, first_only: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, last four digits) of each card number in text, in order."""
    skeletons = _skeletons(text)
    windows = set().union(*map(_windows, skeletons))
    if not windows:
        return []
    digits = skeletons[0].translate(None, _NOT_DIGITS)
    if _MARKER_BEFORE in text or ":" in text or _IBAN_HINT.search(text):
        # Some window may be part of an IBAN, an IPv6 address or a marker: look at each in the text.
        spans = _spans(text, sorted(windows))
        windows = {window for window, (start, end) in spans.items() if not _protected(text, start, end)}
    chosen = sorted(windows)[:1] if first_only else _most_digits(list(windows))
    spans = _spans(text, chosen)
    return [(*spans[first, length], digits[first + length - 4 : first + length].decode()) for first, length in chosen]


def _spans(text: str, windows: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, int]]:
    """{(first digit index, length): (start, end) in text} for windows sorted by first digit."""
    spans = {}
    position, at = _NON_DIGITS.match(text).end(), 0  # the start of the at-th digit
    for first, length in windows:
        position, at = _advance(text, position, first - at), first
        spans[first, length] = (position, _CARD_DIGITS[length].match(text, position).end())
    return spans


def _most_digits(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The non-overlapping windows covering the most digits, in order: two cards typed side by side are two
    cards, not one longer window that happens to pass the checks and leave most of the second in clear."""
    windows.sort()
    firsts = [first for first, _ in windows]
    ends = [first + length for first, length in windows]
    if not any(map(operator.lt, firsts[1:], ends)):
        return windows  # no two overlap
    items = sorted((first + length, first, length) for first, length in windows)
    ends = [end for end, _, _ in items]
    best, taken = [0], [False]
    bisect_right = bisect.bisect_right
    for index, (_, first, length) in enumerate(items):
        take = best[bisect_right(ends, first, 0, index)] + length
        if take > best[index]:
            best.append(take)
            taken.append(True)
        else:
            best.append(best[index])
            taken.append(False)
    chosen, index = [], len(items)
    while index:
        if taken[index]:
            _, first, length = items[index - 1]
            chosen.append((first, length))
            index = bisect_right(ends, first, 0, index - 1)
        else:
            index -= 1
    return chosen[::-1]


def redact(text: str) -> tuple[str, int]:
    """(text with card numbers masked, how many were masked)."""
    if not text:
        return text, 0
    cards = _find(text)
    if not cards:
        return text, 0
    pieces = [text[: cards[0][0]]]
    for (_, end, last_four), (start, _, _) in zip(cards, [*cards[1:], (len(text), 0, "")], strict=True):
        pieces += (MARKER.format(last_four), text[end:start])
    return "".join(pieces), len(cards)


def redacted(text: str) -> str:
    return redact(text)[0]


def contains_card_number(text: str) -> bool:
    """For fields that must refuse a card number (an email address, a reference) rather than mangle it."""
    return bool(text) and bool(_find(text, first_only=True))
