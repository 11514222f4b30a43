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
        digits = re.sub(r"\D", "", match.group())
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            return match.group()
        count += 1
        return f"[card number removed, ending {digits[-4:]}]"

    return _CANDIDATE.sub(mask, text), count


def redacted(text: str) -> str:
    return redact(text)[0]
