"""Bidirectional controls in names are shown isolated and never leak into the text around them."""

import pytest

from core.bidi import BIDI_CONTROLS, FSI, PDF, PDI, balanced, isolate, isolate_text

RLO, LRE, RLI, LRI = "\u202e", "\u202a", "\u2067", "\u2066"


def _depth_never_negative_and_ends_at_zero(text: str) -> bool:
    """Walk the text as UAX #9 would: every closer has an opener, nothing stays open at the end."""
    stack = []
    for ch in text:
        if ch in "\u202a\u202b\u202d\u202e":
            stack.append("E")
        elif ch in "\u2066\u2067\u2068":
            stack.append("I")
        elif ch == PDF:
            if not stack or stack[-1] != "E":
                return False
            stack.pop()
        elif ch == PDI:
            if "I" not in stack:
                return False
            while stack.pop() != "I":
                pass
    return not stack


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kari Nordmann", "Kari Nordmann"),
        (f"Eve{RLO}gpj.exe", f"Eve{RLO}gpj.exe{PDF}"),
        (f"a{PDF}{PDI}b", "ab"),
        (f"{RLI}x{LRE}y{PDI}z", f"{RLI}x{LRE}y{PDF}{PDI}z"),
        (f"{LRE}{RLI}x{PDF}y", f"{LRE}{RLI}xy{PDI}{PDF}"),
        (f"{RLO}one\ntwo", f"{RLO}one{PDF}\ntwo"),
        ("\u200fمریم\u200f", "\u200fمریم\u200f"),  # marks open nothing: kept
    ],
)
def test_unbalanced_controls_are_closed_and_stray_closers_dropped(text, expected):
    assert balanced(text) == expected
    assert _depth_never_negative_and_ends_at_zero(balanced(text))


def test_any_mix_of_controls_comes_out_balanced():
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.text(alphabet=st.sampled_from(sorted(BIDI_CONTROLS) + list("ab\n")), max_size=60))
    def check(text):
        out = balanced(text)
        assert _depth_never_negative_and_ends_at_zero(out)
        assert [c for c in out if c not in BIDI_CONTROLS] == [c for c in text if c not in BIDI_CONTROLS]

    check()


def test_html_names_are_escaped_inside_bdi_and_text_names_inside_fsi_pdi():
    assert isolate(f"<b>Eve</b>{RLO}") == f"<bdi>&lt;b&gt;Eve&lt;/b&gt;{RLO}{PDF}</bdi>"
    assert isolate(None) == "" and isolate("") == ""
    assert isolate_text(f"Eve{RLO}") == f"{FSI}Eve{RLO}{PDF}{PDI}"


def test_an_override_typed_into_an_email_is_closed_before_our_text_goes_on():
    from notifications.rendering import render_update

    context = {"customer_name": "Kari", "reference": "INC-000001", "message": f"see{RLO}txet"}
    _subject, text, html = render_update("progress", "en", context)
    assert f"see{RLO}txet{PDF}" in text and f"see{RLO}txet{PDF}" in html
    assert _depth_never_negative_and_ends_at_zero(text)
