"""Looking for card numbers in stored or printed text, independently of the redactor.

A card's digits count as found when they stand, in order, in one stretch of text without a letter:
any decimal digit of any script counts by its value, anything else between them (spaces, punctuation,
invisible characters, line breaks) is skipped. Letters end a stretch, as they end a number: the
redaction marker's "ending 1234" cannot join the digits of its neighbours.
"""

import json
import re
import unicodedata

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_LETTERS = re.compile(r"[^\W\d_]+")


def digit_stretches(text: str) -> list[str]:
    """The digits of each letter-free stretch of `text` (JSON escapes decoded), as ASCII."""
    text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    stretches = []
    for stretch in _LETTERS.split(text):
        digits = "".join(
            str(unicodedata.decimal(char)) for char in stretch if unicodedata.decimal(char, None) is not None
        )
        if len(digits) >= 13:
            stretches.append(digits)
    return stretches


def holds_card(value, cards) -> list[str]:
    """Which of `cards` (ASCII digit strings) `value` (text, or anything JSON-able) holds."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    stretches = digit_stretches(text)
    return [card for card in cards if any(card in digits for digits in stretches)]
