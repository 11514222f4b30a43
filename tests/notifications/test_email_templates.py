"""Every customer email renders in every language: no missing variable, nothing left untranslated."""

import re

import pytest

from incidents.models import Language
from incidents.selectors import REPORT_STEPS
from notifications.catalog import ACCOUNT_TEMPLATES, TEMPLATES
from notifications.rendering import clean_header, email_language, render_update

MISSING = "@@MISSING:%s@@"
CONTEXT = {
    "customer_name": "Ola Nordmann",
    "reference": "INC-000042",
    "account_reference": "ACC-77001",
    "message": "We found the session that changed your payout account.",
    "resolution_summary": "The unknown session was ended.",
    "measures_taken": "Password reset and sign-ins from new devices blocked.",
    "advice_given": "Keep two-factor authentication on.",
    "code": "493817",
    "minutes": 10,
    # The securing advice says only what still applies (both still to do here; done: a test below).
    "password_done": False,
    "two_factor_on": False,
    # The notice to the old address when the address of record changes (never the new one in full).
    "new_email_masked": "o***@example.net",
    "changed_at": "2026-11-21 09:14 UTC",
    # The post-incident report (resolution): every kind of change and every step, so each is rendered.
    "changed": ["transaction", "property", "contact", "activity_log", "other"],
    "steps": [{"kind": kind, "at": "2026-11-21 09:14 UTC"} for kind in REPORT_STEPS],
}
# Letters each translation must use somewhere: a translation without them has lost its diacritics.
LETTERS = {
    "de": "äöüßÄÖÜ",
    "pl": "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ",
    "nb": "æøåÆØÅ",
    "fa": "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی",
}
TRANSLATIONS = [lang for lang in Language.values if lang != Language.EN]


@pytest.fixture
def strict_templates(settings):
    """Render with a sentinel for unknown variables, so a misspelt or missing one is visible."""
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "OPTIONS": {**engine["OPTIONS"], "string_if_invalid": MISSING}}]


def _english_sentences(template: str) -> set[str]:
    """Sentences of the English email that are ours (not context values), to find untranslated text."""
    _subject, text, _html = render_update(template, Language.EN, CONTEXT)
    values = {str(v) for v in CONTEXT.values()} | {step["at"] for step in CONTEXT["steps"]}
    sentences = set()
    for line in text.splitlines():
        for sentence in re.split(r"(?<=[.:,])\s+", line.strip()):
            if len(sentence) > 15 and not any(value in sentence for value in values):
                sentences.add(sentence)
    return sentences


@pytest.mark.parametrize("language", Language.values)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_completely_in_every_language(strict_templates, template, language):
    subject, text, html = render_update(template, language, CONTEXT)
    for part in (subject, text, html):
        assert "@@MISSING" not in part, part
        assert "{{" not in part and "{%" not in part and "}}" not in part, part
    # Incident emails name the case; notices about the account itself name the account.
    tag = "[ACC-77001] " if template in ACCOUNT_TEMPLATES else "[INC-000042] "
    assert subject.startswith(tag) and len(subject) > len(tag) + 5
    assert "\n" not in subject
    # Whatever the English email carries from the context, the translation carries too.
    _s, en_text, en_html = render_update(template, Language.EN, CONTEXT)
    for value in CONTEXT.values():
        if str(value) in en_text:
            assert str(value) in text, f"{template}/{language} text lost {value!r}"
        if str(value) in en_html:
            assert str(value) in html, f"{template}/{language} HTML lost {value!r}"
    assert f'<html lang="{language}" dir="{"rtl" if language == "fa" else "ltr"}">' in html


@pytest.mark.parametrize("language", TRANSLATIONS)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_translations_hold_no_english_left_over(template, language):
    _subject, text, html = render_update(template, language, CONTEXT)
    assert email_language(template, language) == language
    leftovers = [sentence for sentence in _english_sentences(template) if sentence in text or sentence in html]
    assert leftovers == []


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_translations_are_written_with_their_own_letters(language):
    rendered = "".join("".join(render_update(t, language, CONTEXT)) for t in TEMPLATES)
    assert set(rendered) & set(LETTERS[language]), f"{language}: no {LETTERS[language]} anywhere"


def test_persian_html_is_right_to_left_and_codes_stay_left_to_right():
    _subject, text, html = render_update("verification_code", "fa", CONTEXT)
    assert '<html lang="fa" dir="rtl">' in html
    assert 'dir="ltr">493817</p>' in html  # digits of the code are not reordered
    assert "گرامی" in text


def test_an_unknown_language_falls_back_to_english():
    subject, text, html = render_update("acknowledgement", "xx", CONTEXT)
    assert text.startswith("Hello Ola Nordmann,")
    assert subject == "[INC-000042] We are looking into the unusual activity in your account"
    assert '<html lang="en" dir="ltr">' in html
    assert email_language("acknowledgement", "../../secrets") == "en"


def test_header_values_are_one_clean_line():
    assert clean_header("Ola\r\nBcc: victim@example.org") == "Ola Bcc: victim@example.org"
    assert clean_header("a\u2028b\x00c\td") == "a b c d"


@pytest.mark.django_db
def test_the_stored_language_is_the_one_the_email_was_written_in():
    from django.db import transaction

    from incidents.emails import notify_customer
    from tests.factories import IncidentFactory

    incident = IncidentFactory(customer__language="de")
    with transaction.atomic():
        german = notify_customer(incident, template="acknowledgement", key="german")
    assert german.language == "de" and "Wir prüfen" in german.subject
    incident.customer.language = "xx"  # no translation for it: the email is written in English
    with transaction.atomic():
        english = notify_customer(incident, template="acknowledgement", key="fallback")
    assert english.language == "en" and english.subject.startswith(f"[{incident.reference}] We are looking into")


@pytest.mark.parametrize("language", Language.values)
def test_the_securing_advice_says_only_what_still_applies(language, strict_templates):
    todo = render_update("securing_advice", language, CONTEXT)[1]
    done = render_update("securing_advice", language, {**CONTEXT, "password_done": True, "two_factor_on": True})[1]
    half = render_update("securing_advice", language, {**CONTEXT, "password_done": True})[1]
    assert todo.count("\n- ") == 2 and done.count("\n- ") == 2 and half.count("\n- ") == 2
    assert todo != done != half
    if language == Language.EN:
        assert "Change your password" in todo and "Change your password" not in done
        assert "You changed your password." in done and "Turn on two-factor" in half
        assert "Turn on two-factor" not in done
