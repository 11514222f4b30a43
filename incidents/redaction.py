"""Card numbers never reach storage: the one redactor every free-text path goes through.

A card number is 13 to 19 digits, optionally grouped by single spaces or dashes, passing the
Luhn check. It is replaced by a marker keeping the last four digits. Other numbers (phones,
dates, IP addresses, references) are left alone.
"""

import re

_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])(?!-\d)")


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


def redact(text: str) -> tuple[str, int]:
    """(text with card numbers masked, how many were masked)."""
    if not text:
        return text, 0
    count = 0

    def mask(match: re.Match) -> str:
        nonlocal count
        text = match.group()
        # The run may hold more than the card: "4111 1111 1111 1111 123" (a CVV), "... 12 25" (an
        # expiry). Try every run of whole digit groups, longest first, for a Luhn-valid 13-19 digits.
        groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", text)]
        spans = sorted(
            ((i, j) for i in range(len(groups)) for j in range(i, len(groups))),
            key=lambda span: span[0] - span[1],
        )
        for i, j in spans:
            start, end = groups[i][0], groups[j][1]
            digits = re.sub(r"\D", "", text[start:end])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                count += 1
                return f"{text[:start]}[card number removed, ending {digits[-4:]}]{text[end:]}"
        return text

    return _CANDIDATE.sub(mask, text), count


def redacted(text: str) -> str:
    return redact(text)[0]
