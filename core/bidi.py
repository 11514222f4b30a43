"""Names shown isolated, so bidirectional-control characters cannot disguise the text around them.

A name may carry right-to-left override (U+202E) and friends: typed on purpose, it reverses how
the rest of the line is shown ("Invoice for ‮gpj.exe" ...). Shown isolated, a name is laid out
on its own and leaves its surroundings alone: in HTML inside `<bdi>`, in plain text between
FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE. Controls a name opens and never closes are
closed at its end; closers with nothing to close are dropped, so nothing leaks either way.

The `isolate` filter is a template builtin (see settings.TEMPLATES): `{{ customer.display_name|isolate }}`.
"""

from django import template
from django.utils.html import format_html

EMBEDDINGS = "\u202a\u202b\u202d\u202e"  # LRE RLE LRO RLO, each closed by PDF
PDF = "\u202c"
ISOLATES = "\u2066\u2067\u2068"  # LRI RLI FSI, each closed by PDI
PDI = "\u2069"
FSI = "\u2068"
# Marks (LRM, RLM, ALM) open nothing: they stay, and an isolate keeps their effect inside it.
BIDI_CONTROLS = frozenset(EMBEDDINGS + PDF + ISOLATES + PDI + "\u200e\u200f\u061c")
_PARAGRAPH_BREAKS = frozenset("\n\r\x1c\x1d\x1e\x85\u2029")

register = template.Library()


def balanced(text: str) -> str:
    """The text with every embedding, override and isolate it opens closed, and stray closers dropped.

    Follows the nesting rules of the Unicode bidirectional algorithm (UAX #9): a PDF closes the
    innermost embedding unless an isolate opened after it; a PDI closes the innermost isolate and
    whatever was opened inside it; a paragraph break ends everything.
    """
    if not BIDI_CONTROLS.intersection(text):
        return text
    out: list[str] = []
    stack: list[str] = []  # "E" (embedding/override) or "I" (isolate), innermost last

    def close_all():
        while stack:
            out.append(PDF if stack.pop() == "E" else PDI)

    for ch in text:
        if ch in EMBEDDINGS:
            stack.append("E")
        elif ch in ISOLATES:
            stack.append("I")
        elif ch == PDF:
            if not stack or stack[-1] != "E":
                continue  # nothing of its kind open: dropped
            stack.pop()
        elif ch == PDI:
            if "I" not in stack:
                continue
            while stack.pop() != "I":
                out.append(PDF)
        elif ch in _PARAGRAPH_BREAKS:
            close_all()
        out.append(ch)
    close_all()
    return "".join(out)


def isolate_text(value) -> str:
    """For plain text (emails): the value balanced and wrapped in FSI … PDI."""
    return f"{FSI}{balanced(str(value))}{PDI}"


@register.filter(is_safe=False)
def isolate(value):
    """For HTML: the value escaped, balanced and wrapped in `<bdi>`; nothing for None or ""."""
    if value is None or value == "":
        return ""
    return format_html("<bdi>{}</bdi>", balanced(str(value)))
