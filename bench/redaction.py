"""Card-number redactor throughput (not a test): MB/s of core.redaction.redact on ordinary text, on
text full of card numbers, and on inputs built to be slow. Exits 1 if any input runs under 5 MB/s of CPU
time (the redactor must stay linear: one paste must never hold a web worker).

    .venv/bin/python bench/redaction.py [--size-mb 1] [--repeat 3]
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.redaction import redact

FLOOR_MB_S = 5.0


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _random_digits(size: int, separator: str, seed: int) -> str:
    rng = random.Random(seed)
    return separator.join(rng.choice("0123456789") for _ in range(size // (1 + len(separator))))


def _random_groups(size: int, sizes: list[int], separators: list[str], seed: int) -> str:
    """Random digits in groups of the given sizes, each followed by one of the separators: mostly cards."""
    rng = random.Random(seed)
    pieces, length = [], 0
    while length < size:
        piece = "".join(rng.choice("0123456789") for _ in range(rng.choice(sizes))) + rng.choice(separators)
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)[:size]


def _card(rng: random.Random) -> str:
    """A random 16-digit Visa number with a valid Luhn digit."""
    body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
    total = sum(int(d) if i % 2 else sum(divmod(2 * int(d), 10)) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


def _columns_and_cards(size: int, seed: int) -> str:
    """Columns of three lines of equal-width random digits (widths 1 to 12), each followed by a card wrapped
    over two lines at a random position: every column is found and read apart from the card after it."""
    rng = random.Random(seed)
    pieces, length = [], 0
    while length < size:
        width = rng.randint(1, 12)
        column = "".join("".join(rng.choice("0123456789") for _ in range(width)) + "\n" for _ in range(3))
        card = _card(rng)
        at = rng.choice([at for at in range(1, 16) if at != width])
        piece = f"{column}{card[:at]}\n{card[at:]}\n"
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)[:size]


def inputs(size: int) -> tuple[dict[str, str], dict[str, str]]:
    prose = (
        "The customer called at 10:42 from +47 912 34 567 about ticket INC-000123; login from 203.0.113.9 "
        "on 2026-11-22, account ACC-10004, refund of 1,234.50 to DE89 3704 0044 0532 0130 00. "
    )
    ordinary = {
        "ordinary prose with numbers": _fill(prose, size),
        "Persian and fullwidth text": _fill(
            "مشتری گفت شماره ۱۲۳۴ و ۵۶۷۸ را دید، \uff29\uff24 \uff14\uff15\uff16\uff17 ok. ", size
        ),
        "cards, one line in two": _fill("card 4111 1111 1111 1111 exp 12/27\nnothing here today\n", size),
        "only cards": _fill("4111.1111.1111.1111\n", size),
        "lists of dates and phones": _fill("30.11.2026, 01.12.2026; (555) 010-0199, +47 912 34 567\n", size),
    }
    # Random digits, grouped as cards are: every 13-19 digit stretch with an issuer prefix, a length its network
    # issues and a valid Luhn digit is a card, so these are mostly cards (one every 40 to 140 characters), each
    # found, mapped back and masked: the most work per character an attacker can ask for.
    adversarial = {
        "random digits, 1 separator apart": _random_digits(size, " ", 1),
        "random digits, 2 separators apart": _random_digits(size, ".-", 2),
        "random digits, one per line": _random_digits(size, "\n", 3),
        "random digits, one per line, and a colon": _random_digits(size - 1, "\n", 4) + ":",
        "random digits, zero-width spaces between": _random_digits(size, "\u200b", 5),
        "random groups of 4": _random_groups(size, [4], [" "], 6),
        "random groups of 3 to 6": _random_groups(size, [3, 4, 5, 6], [" ", "-", "  "], 7),
        "random groups of 4, spaces or line breaks": _random_groups(size, [4], [" ", "\n", " \n  "], 8),
        "random 8-digit lines (cards wrapped in two)": _random_groups(size, [8], ["\n"], 9),
        '"4 1 1 1 ..."': "4 " + _fill("1 ", size - 2),
        '"4.4.4.4..."': _fill("4.", size),
        "one run of digits": _fill("4111111111111112", size),
        "16-digit runs, Luhn fails": _fill("4111111111111112 ", size),
        "digit/separator alternating": _fill("1 2 3 4 5 6 7 8 9 0 ", size),
        "digit pairs, 2 separators": _fill("12.-34.-56.-78.-90.-", size),
        "near misses (Luhn fails), grouped": _fill("order 4111-1111-1111-1112 / ", size),
        "near misses across lines": _fill("4111 1111 1111 1112\n", size),
        "9-digit ids, comma lists": _fill("123456789, 987654321, ", size),
        "random 9-digit ids, one per line (a column)": _random_groups(size, [9], ["\n"], 10),
        "random 9-digit ids, one per line, bullets": _fill("- ", 2) + _random_groups(size - 2, [9], [",\n- "], 11),
        "equal-width columns and wrapped cards": _columns_and_cards(size, 12),
        "columns of 3 lines, widths 1 and 2": _fill("1\n2\n3\n12\n34\n56\n", size),
        "near columns (widths 9, 9, 10)": _random_groups(size, [9, 9, 10], ["\n"], 13),
        "zero-width space everywhere": _fill("4\u200b1\u200b1\u200b1\u200b \u200b", size),
        "Cf between groups": _fill("4111\u200b1111\u00ad1111\u2060111", size),
        "fullwidth digits, no-break spaces": _fill(
            "\uff14\uff11\uff11\uff11\u00a0\uff11\uff11\uff11\uff11\u00a0", size
        ),
        "IPv4 lists": _fill("10.0.0.1, 45.33.120.71, ", size),
        "long separator runs": _fill("4" + " " * 50, size),
        "IBAN-like": _fill("DE89 3704 0044 0532 0130 01 ", size),
        "IPv6-like": _fill("2400:1234:5678:9012::1, ", size),
        "IBAN beside each card": _fill("DE89 3704 0044 0532 0130 00 4111 1111 1111 1111\n", size),
        "IPv6 beside each card": _fill("2001:db8::1 4111 1111 1111 1111\n", size),
    }
    return ordinary, adversarial


def measure(text: str, repeat: int) -> tuple[float, float, int]:
    """(MB/s of CPU time, MB/s of wall time, cards found), best of repeat runs each."""
    cpu = wall = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        _, count = redact(text)
        cpu = min(cpu, time.process_time() - started_cpu)
        wall = min(wall, time.perf_counter() - started)
    size = len(text.encode()) / 1e6
    return size / max(cpu, 1e-9), size / wall, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1.0, help="size of each input in MB (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    args = parser.parse_args()
    ordinary, adversarial = inputs(int(args.size_mb * 1_000_000))
    slow = []
    print(f"redact(), best of {args.repeat}, {args.size_mb:g} M characters each; MB of UTF-8 per second of")
    print("CPU time of this process (the figure checked), and of wall time (depends on the machine's load)")
    for title, group in (("ordinary", ordinary), ("adversarial", adversarial)):
        for name, text in group.items():
            rate, wall_rate, count = measure(text, args.repeat)
            flag = ""
            if rate < FLOOR_MB_S:
                slow.append(name)
                flag = f"  UNDER {FLOOR_MB_S:g} MB/s"
            print(f"{title:11} {name:45} {rate:7.1f} MB/s (wall {wall_rate:5.1f})  {count:6} cards{flag}")
    if slow:
        print(f"FAIL: {len(slow)} input(s) under {FLOOR_MB_S:g} MB/s: {', '.join(slow)}")
        return 1
    print(f"OK: every input at or above {FLOOR_MB_S:g} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
