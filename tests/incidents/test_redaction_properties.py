"""Property-based: a card number of any network, typed in any way people type them, never survives the
redactor; ordinary numbers (ids, phones, IBANs, dates, IP addresses, references, amounts) always do, byte for
byte. The checks here do not use the redactor's own logic: cards come from tests/cardgen.py, and a card counts
as removed when its digits no longer occur among the output's digits."""

import os
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.redaction import contains_card_number, redact, redacted
from tests.cardgen import NETWORKS, card_numbers, formatted_cards, is_card_number, nine_digit_ids, ordinary_numbers

# `make mutation` runs these once per mutant of the redactor: an eighth of the examples there (same fixed seed).
_SHARE = 8 if os.environ.get("HYPOTHESIS_PROFILE") == "mutation" else 1


def examples(count: int) -> int:
    return max(5, count // _SHARE)


# Surrounding text: anything but digits (a digit next to a card makes a longer number).
words = st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=30)
joiners = st.sampled_from(["", " ", "\n", ": ", " (", "\t"])


def digits_of(text: str) -> str:
    """Every decimal digit of the text, as ASCII, everything else dropped."""
    return "".join(str(unicodedata.decimal(char)) for char in text if unicodedata.category(char) == "Nd")


_LINES = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# A line holding only a digit run, maybe with a bullet before it and a comma or semicolon after it.
_LIST_LINE = re.compile(r"\s*(?:(?:[-*\u2022]|\d{1,9}[.)])\s+)?(\d+)\s*[,;]?\s*")


def has_a_column(text: str) -> bool:
    """Three lines in a row that each hold only a digit run of the same width (a list, not a wrapped number)."""
    widths = []
    for line in _LINES.split(text):
        plain = "".join(" " if unicodedata.category(char) == "Cf" else char for char in line)
        match = _LIST_LINE.fullmatch(plain)
        widths.append(len(match.group(1)) if match else None)
    return any(a is not None and a == b == c for a, b, c in zip(widths, widths[1:], widths[2:], strict=False))


def assert_removed(card: str, cleaned: str) -> None:
    assert card not in digits_of(cleaned), cleaned
    assert f"[card number removed, ending {card[-4:]}]" in cleaned, cleaned


@pytest.mark.parametrize("network", sorted(NETWORKS))
@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), before=words, after=words, joins=st.tuples(joiners, joiners))
def test_every_formatted_card_of_every_network_is_removed_keeping_the_last_four(network, data, before, after, joins):
    typed, card, _ = data.draw(formatted_cards(network))
    text = f"{before}{joins[0]}{typed}{joins[1]}{after}"
    cleaned, count = redact(text)
    assert count == 1, (text, cleaned)
    assert_removed(card, cleaned)
    assert contains_card_number(text)
    # Redacting again changes nothing.
    assert redact(cleaned) == (cleaned, 0)
    assert not contains_card_number(cleaned)


@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(cards=st.lists(formatted_cards(), min_size=2, max_size=4), gaps=st.lists(words, min_size=4, max_size=4))
def test_several_cards_in_one_text_are_all_removed(cards, gaps):
    text = "".join(f"{card.typed} and {gap} " for card, gap in zip(cards, gaps, strict=False))
    cleaned, count = redact(text)
    assert count == len(cards), (text, cleaned)
    for card in cards:
        assert_removed(card.digits, cleaned)


@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(
    cards=st.lists(formatted_cards(), min_size=2, max_size=4),
    gaps=st.lists(st.sampled_from([" ", "  ", ", ", "\n", "; ", " / "]), min_size=4, max_size=4),
)
def test_cards_typed_one_after_the_other_leave_none_of_their_digits(cards, gaps):
    # Nothing but separators between them: they read as one long sequence, which is cut into the windows
    # covering the most digits. A chance window across two cards may take the place of the real pair, so
    # which last four digits show is not fixed; that no card's digits remain is.
    text = "".join(f"{card.typed}{gap}" for card, gap in zip(cards, gaps, strict=False))
    # Cards wrapped at the same width, one under the other, make a column: a list, by the rule tested below.
    assume(not has_a_column(text))
    cleaned, count = redact(text)
    assert count >= 1
    for card in cards:
        assert card.digits not in digits_of(cleaned), (text, cleaned)


@settings(max_examples=examples(600))
@given(value=ordinary_numbers(), joins=st.tuples(joiners, joiners))
def test_ordinary_numbers_are_never_touched(value, joins):
    text = f"see{joins[0]}{value}{joins[1]}please"
    assert redact(text) == (text, 0)
    assert not contains_card_number(text)


@settings(max_examples=examples(200))
@given(values=st.lists(ordinary_numbers(), min_size=2, max_size=5))
def test_ordinary_numbers_on_separate_lines_are_never_touched(values):
    text = "\n\n".join(f"- {value}." for value in values)
    assert redact(text) == (text, 0)


@settings(max_examples=examples(300))
@given(
    ids=st.lists(nine_digit_ids, min_size=3, max_size=10),
    card=card_numbers(),
    data=st.data(),
    breaks=st.sampled_from(["\n", "\r\n", " \n", "\u2028"]),
)
def test_a_column_of_ids_is_a_list_and_a_card_wrapped_below_it_is_found(ids, card, data, breaks):
    # A column (3+ lines, each only a digit run of one width) is a list: its line breaks are never read as
    # nothing, so "123456789\n987654321" inside it is no 18-digit card.
    column = breaks.join(ids)
    assert redact(f"ids:{breaks}{column}{breaks}end") == (f"ids:{breaks}{column}{breaks}end", 0)
    # A card wrapped in two at any position right under it is found, unless both its lines have the ids' width
    # (an 18-digit card cut in the middle is then one more pair of ids in the list).
    at = data.draw(st.integers(1, len(card) - 1).filter(lambda at: not at == len(card) - at == 9))
    text = f"{column}{breaks}{card[:at]}{breaks}{card[at:]}{breaks}end"
    cleaned, count = redact(text)
    assert count == 1, (text, cleaned)
    assert_removed(card, cleaned)
    # The break between the list and the card is no line of the column: it reads both ways, and a reading
    # through the last id may mask it with the card. The ids above it stay.
    assert cleaned.startswith(breaks.join(ids[:-1]) + breaks), (text, cleaned)


@settings(max_examples=examples(300))
@given(digits=st.text("0123456789", min_size=13, max_size=19))
def test_an_ungrouped_run_is_a_card_exactly_when_a_network_would_issue_it(digits):
    text = f"number {digits} here"
    assert (redact(text)[1] == 1) is is_card_number(digits)


@pytest.mark.parametrize(
    "text",
    [
        "ids 123456789 987654321",
        "ids 123456789, 987654321, 555555555, 444444444",
        "IBAN DE89 3704 0044 0532 0130 00 and NO9386011117947",
        "GB82 WEST 1234 5698 7654 32",
        "+47 912 34 567 / +1 (555) 010-0199",
        "at 2026-11-22 10:30:00.123456+01:00",
        "from 203.0.113.9, 45.33.120.71, 10.0.0.1 and 2001:4860:4860::8888",
        "ACC-10004, INC-000123, order 4111111111111112",
        "1,234,567.89 EUR",
        "550e8400-e29b-41d4-a716-446655440000",
        "30.11.2026, 01.12.2026",
        "12.01.2025 13.01.2025",
        "2025-01-12, 2025-01-13; 2025-01-14",
        "+47 912 34 567, +47 913 45 678",
        "(555) 010-0199; (555) 010-0200",
        "555-234-5678, 555-234-5679, 555-234-5680",
        "ids,\n123456789,\n987654321",
        # Columns: each pair below reads as a card if its line break is read as nothing.
        "582637352\n607069464\n799642630",
        "ids:\n  917061414 \n  593495461 \n  411150634 \nend",
        "- 582637352\n- 607069464\n- 799642630",
        "1. 582637352;\r\n2. 607069464;\r\n3. 799642630",
    ],
)
def test_examples_of_ordinary_numbers_are_left_alone(text):
    assert redact(text) == (text, 0)


@pytest.mark.parametrize(
    "text",
    [
        "41 1111 1111 1111 11",  # a first group of 2
        "4111 11 1111 1111 11",  # a middle group of 2
        "411 1111 1111 1111 1",  # a first group of 3
        "4111 111 111 1111 11",  # a group of 3, then a longer one (555 010 0199)
    ],
)
def test_groupings_no_card_prints_are_not_cards(text):
    # Each of these holds the digits of 4111111111111111 (Luhn-valid), grouped as no card is printed.
    assert redact(text) == (text, 0)


def test_two_cards_in_one_text_are_counted():
    text = "visa 4111 1111 1111 1111, amex 3782-822463-10005."
    assert redact(text) == (
        "visa [card number removed, ending 1111], amex [card number removed, ending 0005].",
        2,
    )


@pytest.mark.parametrize("value", ["", None])
def test_empty_text_is_returned_as_is(value):
    assert redact(value) == (value, 0)
    assert redacted(value) == value
    assert not contains_card_number(value)


def test_already_redacted_text_is_unchanged():
    text = "paid with [card number removed, ending 4242] and [card number removed, ending 1111] 1111 1111 1111"
    assert redact(text) == (text, 0)


def test_a_card_in_an_email_address_is_detected_for_refusal():
    assert contains_card_number("jane.4111111111111111@example.com")
    assert contains_card_number("4111-1111-1111-1111@example.com")
    assert not contains_card_number("jane.doe+123456789@example.com")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11!",
            "card [card number removed, ending 1111]!",
        ),
        (
            "\u06f4\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1\u06f1",
            "[card number removed, ending 1111]",
        ),
        ("4111\u200b1111 1111\u00ad1111 ok", "[card number removed, ending 1111] ok"),
        ("4111.1111.1111.1111", "[card number removed, ending 1111]"),
        ("4111\u00a01111\u20071111\u202f1111", "[card number removed, ending 1111]"),
        ("4111 1111\r\n1111 1111", "[card number removed, ending 1111]"),
        ("order-4111111111111111", "order-[card number removed, ending 1111]"),
        ("ACC-4111-1111-1111-1111", "ACC-[card number removed, ending 1111]"),
        ("4111_1111_1111_1111 12/27 123", "[card number removed, ending 1111] 12/27 123"),
        # Broken across a line anywhere: the line break read as nothing, or as a separator.
        ("41111111\n11111111", "[card number removed, ending 1111]"),
        ("4111 1111 11\n11 1111", "[card number removed, ending 1111]"),
        ("4111 1111 11\r\n    11 1111.", "[card number removed, ending 1111]."),
        ("4111 1111 1111 111\u20281", "[card number removed, ending 1111]"),
        ("total 12\n41111111\n11111111 ok", "total 12\n[card number removed, ending 1111] ok"),
        # Three lines or more, of unequal widths (a column is of equal widths), or equal widths that make a grouping.
        ("411111\n111111\n1111", "[card number removed, ending 1111]"),
        ("4111\n1111\n1111\n1111", "[card number removed, ending 1111]"),
        (
            "ids\n12345678\n12345678\n4111111111\n111111\nok",
            "ids\n12345678\n12345678\n[card number removed, ending 1111]\nok",
        ),
        ("4111\u200b1111 1111 11\u200b11", "[card number removed, ending 1111]"),
        # Groups as cards print them: 4-3-3-3 (13-digit Visa), 4-6-5, 4-4-4-1.
        ("4222 222 222 222", "[card number removed, ending 2222]"),
        ("3782 822463 10005", "[card number removed, ending 0005]"),
        ("4222 2222 2222 2", "[card number removed, ending 2222]"),
    ],
)
def test_examples_of_cards_as_people_type_them(text, expected):
    assert redact(text) == (expected, 1)


@pytest.mark.django_db
@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_card_numbers_never_reach_the_database_audit_email_tasks_or_logs(data, tier1, customer, mailoutbox, caplog):
    import logging

    from celery.signals import task_prerun

    from audit.models import AuditEntry
    from incidents import services
    from notifications.models import CustomerUpdate

    typed, number, _network = data.draw(formatted_cards())
    mailoutbox.clear()
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    task_args = []

    def remember(sender=None, args=None, kwargs=None, **extra):
        task_args.append((args, kwargs))

    task_prerun.connect(remember, weak=False)
    incident = services.open_incident(
        customer=customer, channel="phone", summary=f"charged on {typed}", severity=2, actor=tier1
    )
    services.add_note(incident, body=f"card {typed} mentioned", visibility="customer", actor=tier1)
    services.add_indicators_from_log(incident, log_text=f"8.8.8.8 paid with {typed}", actor=tier1)
    stored = [
        incident.summary,
        *incident.notes.values_list("body", flat=True),
        *incident.indicators.values_list("context", flat=True),
        *CustomerUpdate.objects.filter(incident=incident).values_list("body_text", "body_html", "context"),
        *AuditEntry.objects.filter(incident_id=incident.pk).values_list("data", flat=True),
        *(message.body for message in mailoutbox),
        *(message.alternatives[0][0] for message in mailoutbox),
        *task_args,
    ]
    task_prerun.disconnect(remember)
    assert task_args, "the emails went through Celery tasks"
    for value in map(str, stored):
        assert typed not in value and number not in value
        assert redact(value)[1] == 0, value
    # Log lines carry timings whose digits can pass Luhn by chance: look for this card itself.
    assert typed not in caplog.text and number not in caplog.text
