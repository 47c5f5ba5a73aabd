"""Text hygiene: hidden characters leave whatever a person typed, on every command that carries
their words into the core."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from workflows.commands import Answer, Cancel, OpenRequest
from workflows.grammar import GrammarError, parse
from workflows.incidents import EndIncident, StartIncident
from workflows.model import Actor, Verdict
from workflows.reviews import CompleteReview
from workflows.text import HANGUL_FILLERS, clean, has_hidden

if TYPE_CHECKING:
    # The names `st.characters` accepts as Unicode categories.
    from hypothesis.internal.charmap import CategoryName

HIDDEN: tuple[CategoryName, ...] = ("Cf", "Zl", "Zp", "Cc", "Cs")
VISIBLE: tuple[CategoryName, ...] = (
    "Lu",
    "Ll",
    "Lo",
    "Nd",
    "Mn",
    "Po",
    "Ps",
    "Pe",
    "Sm",
    "So",
    "Zs",
)
# Characters a hand-written list missed, and the ones it had.
NAMED = {
    "right-to-left override": "\u202e",
    "word joiner": "\u2060",
    "Arabic letter mark": "\u061c",
    "soft hyphen": "\u00ad",
    "tag latin capital A": "\U000e0041",
    "cancel tag": "\U000e007f",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte order mark": "\ufeff",
    "Mongolian vowel separator": "\u180e",
    "first strong isolate": "\u2068",
    "interlinear annotation anchor": "\ufff9",
    "Hangul choseong filler": "\u115f",
    "Hangul jungseong filler": "\u1160",
    "Hangul filler": "\u3164",
    "halfwidth Hangul filler": "\uffa0",
    "escape": "\x1b",
    "C1 control": "\x9b",
}
BREAKS = {
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "next line": "\x85",
    "carriage return": "\r",
}

mixed_text = st.text(
    alphabet=st.one_of(
        st.characters(categories=HIDDEN),
        st.characters(categories=VISIBLE),
        st.sampled_from(sorted(HANGUL_FILLERS)),
        st.sampled_from("\n\t\r"),
    ),
    max_size=60,
)


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in HIDDEN or char in HANGUL_FILLERS


@given(mixed_text)
def test_a_cleaned_comment_holds_no_hidden_character_but_its_newlines_and_tabs(
    text: str,
) -> None:
    cleaned = clean(text)
    assert [c for c in cleaned if _hidden(c)] == [c for c in cleaned if c in "\n\t"]
    assert clean(cleaned) == cleaned


@given(mixed_text)
def test_a_cleaned_line_holds_no_hidden_character_at_all(text: str) -> None:
    assert not any(_hidden(c) for c in clean(text, multiline=False))


@given(mixed_text)
def test_cleaning_keeps_every_visible_character_in_its_order(text: str) -> None:
    visible = [c for c in text if not _hidden(c)]
    assert [c for c in clean(text) if not _hidden(c)] == visible


@given(st.text(alphabet=st.characters(categories=VISIBLE), max_size=60))
def test_text_without_hidden_characters_is_left_alone(text: str) -> None:
    assert clean(text) == text
    assert not has_hidden(text)


@pytest.mark.parametrize("char", NAMED.values(), ids=NAMED.keys())
def test_each_hidden_character_is_removed_from_a_comment(char: str) -> None:
    assert clean(f"no{char} bias audit") == "no bias audit"
    assert has_hidden(f"deploy x 1 -- no{char}")


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_every_kind_of_line_break_is_a_newline_in_a_comment_and_a_space_in_a_line(
    char: str,
) -> None:
    assert clean(f"first{char}second") == "first\nsecond"
    assert clean(f"first{char}second", multiline=False) == "first second"


def test_a_windows_line_end_is_one_newline() -> None:
    assert clean("first\r\nsecond") == "first\nsecond"


# Every command that carries a person's words, and the field that holds them.
ACTOR = Actor(person="jae", platform="slack", platform_user_id="U0JAE")
CARRIERS: dict[str, tuple[type[BaseModel], dict[str, Any], str]] = {
    "reject reason": (
        Answer,
        {"request_id": "R1", "actor": ACTOR, "verdict": Verdict.REJECT},
        "comment",
    ),
    "concern": (
        Answer,
        {"request_id": "R1", "actor": ACTOR, "verdict": Verdict.CONCERN},
        "comment",
    ),
    "reason for a request": (
        OpenRequest,
        {"request_id": "R1", "actor": ACTOR, "system": "s", "version": "1"},
        "reason",
    ),
    "reason to cancel": (Cancel, {"request_id": "R1", "actor": ACTOR}, "reason"),
    "review notes": (
        CompleteReview,
        {"review_id": "V1", "actor": ACTOR, "next_review_id": "V2"},
        "notes",
    ),
    "incident summary": (
        StartIncident,
        {"incident_id": "I1", "number": 1, "actor": ACTOR, "system": "s", "severity": "sev2"},
        "summary",
    ),
    "closing summary": (EndIncident, {"incident_id": "I1", "actor": ACTOR}, "summary"),
}


@pytest.mark.parametrize("carrier", CARRIERS.values(), ids=CARRIERS.keys())
def test_item_8_every_command_carrying_a_persons_text_holds_it_clean(
    carrier: tuple[type[BaseModel], dict[str, Any], str],
) -> None:
    model, fields, field = carrier
    typed = "no bias\u202e audit\u2060\u061c\u00ad\U000e0041\u3164\u2028done"
    command = model(**fields, **{field: typed})
    assert getattr(command, field) == "no bias audit\ndone"


def test_item_8_a_slash_command_with_a_word_joiner_or_soft_hyphen_is_refused() -> None:
    for char in ("\u2060", "\u00ad", "\u061c", "\U000e0041", "\u3164", "\u2028"):
        with pytest.raises(GrammarError, match="invisible"):
            parse(f"deploy credit-scoring 2.3.1 -- no{char}te")


def test_a_slash_command_may_still_hold_tabs_and_newlines() -> None:
    parsed = parse("deploy\tcredit-scoring 2.3.1 -- line one\nline two")
    assert parsed == parse("deploy credit-scoring 2.3.1 -- line one\nline two")
