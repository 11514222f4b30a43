"""Rendering a customer email: subject, plain text and HTML in the customer's language."""

from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import translation

from core.bidi import balanced

from .catalog import RTL_LANGUAGES, Language


def email_language(template: str, language: str) -> str:
    """The language the email is written in: the customer's, or English when we have no translation.

    Only known language codes are looked up, so a stray value can never reach the template path.
    """
    if language in Language.values:
        try:
            get_template(f"emails/{language}/{template}.txt")
            return language
        except TemplateDoesNotExist:
            pass
    return Language.EN


def render_update(template: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, plain text, HTML) in the customer's language, falling back to English.

    The subject and the plain text are rendered with autoescape off (they are not HTML) and come
    back as ordinary strings, not "safe" markup: a page that shows them (the previews) escapes
    them like anything else a person typed. Only the HTML body is markup, escaped as it renders.
    """
    lang = email_language(template, language)
    # Typed text keeps its bidirectional controls, but whatever it opens it closes: an override
    # in a message cannot reorder the sentences of ours that follow it.
    context = {key: balanced(value) if isinstance(value, str) else value for key, value in context.items()}
    context = {**context, "lang": lang, "dir": "rtl" if lang in RTL_LANGUAGES else "ltr"}
    with translation.override(lang):
        subject = render_to_string(f"emails/{lang}/{template}.subject.txt", context)
        text = render_to_string(f"emails/{lang}/{template}.txt", context)
        html = render_to_string(f"emails/{lang}/{template}.html", context)
    return clean_header(subject), plain(text), html


def plain(text: str) -> str:
    """The same characters as a plain `str`: a template's output is marked safe for HTML, and
    plain text must never be trusted as markup."""
    return str.__str__(text)


def clean_header(value: str) -> str:
    """One line of printable text, safe as an email header value.

    Django refuses CR/LF in headers (BadHeaderError) rather than cleaning them; customer names and
    agent-typed text reach the subject, so control characters (CR, LF, NUL, Unicode line and
    paragraph separators ...) become spaces here, before anything is stored or sent.
    """
    printable = "".join(ch if ch.isprintable() else " " for ch in value)
    return " ".join(printable.split())[:200]
