"""terminal_safe: no control character from outside reaches a terminal raw."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ertui.termsafe import terminal_safe

HOSTILE = "550 5.1.1 \x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07"


def test_escape_sequences_become_visible_escapes() -> None:
    safe = terminal_safe(HOSTILE)
    assert "\x1b" not in safe and "\x07" not in safe
    assert safe.startswith("550 5.1.1 \\x1b]0;PWNED\\x07\\x1b[2J")


def test_c1_controls_del_cr_and_bidi_overrides_are_escaped() -> None:
    assert terminal_safe("a\x9bb\x7fc\rd\u202ee") == "a\\x9bb\\x7fc\\x0dd\\u202ee"


def test_newlines_and_tabs_kept_only_when_asked() -> None:
    assert terminal_safe("a\nb\tc") == "a\\x0ab\\x09c"
    assert terminal_safe("a\nb\tc", keep_newlines=True) == "a\nb\tc"
    assert terminal_safe("a\n\x1b", keep_newlines=True) == "a\n\\x1b"


def test_printable_text_is_unchanged() -> None:
    for text in ("", "250 2.0.0 Ok: queued as 4F2", "Grüße — 日本語 [URGENT] émoji 🙂"):
        assert terminal_safe(text) == text


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    safe = terminal_safe(text)
    assert all(ch.isprintable() or ch == " " for ch in safe), safe
