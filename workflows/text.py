"""Text a person typed, made safe to store and show: invisible and reordering characters out;
pure, imports only the standard library and pydantic.

Format characters (`Cf`: bidi overrides and isolates, zero-width spaces and joiners, the word
joiner, the Arabic letter mark, soft hyphens, tag characters), line and paragraph separators
(`Zl`, `Zp`), control characters (`Cc`), lone surrogates (`Cs`) and the Hangul fillers show
nothing or move what is shown. Left in a reason or a summary they make a card read other than
what the ledger holds, or hide text from a reviewer. Judged by Unicode category, so characters
added to those categories are covered without a list to keep up.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# Letters by category (`Lo`), yet they render as blank space of a letter's width.
HANGUL_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
# A lone surrogate cannot be written as UTF-8: the ledger's encoder would refuse the row.
HIDDEN_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Cc", "Cs"})
# What a multi-line comment keeps: its own line breaks and tabs.
KEPT_IN_COMMENTS = frozenset("\n\t")
# Every other character that ends a line somewhere (str.splitlines, JavaScript, editors):
# in a comment it becomes the newline a person meant.
LINE_BREAKS = frozenset("\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Whitespace a typed command may hold; the grammar splits on it.
COMMAND_WHITESPACE = frozenset("\t\n\r")


def hidden(char: str) -> bool:
    """Whether a character shows nothing or reorders what is shown."""
    return char in HANGUL_FILLERS or unicodedata.category(char) in HIDDEN_CATEGORIES


def has_hidden(text: str) -> bool:
    """Whether a typed command holds a hidden character other than its spacing."""
    return any(hidden(char) and char not in COMMAND_WHITESPACE for char in text)


def clean(text: str, multiline: bool = True) -> str:
    """`text` with every hidden character removed; line breaks become `\\n` in a multi-line
    comment (tabs stay) and a space in a single line."""
    if text.isprintable() and not HANGUL_FILLERS.intersection(text):
        return text  # the usual case: nothing to look at character by character
    text = text.replace("\r\n", "\n")
    kept: list[str] = []
    for char in text:
        if char in KEPT_IN_COMMENTS or char in LINE_BREAKS:
            kept.append((char if char == "\t" else "\n") if multiline else " ")
        elif not hidden(char):
            kept.append(char)
    return "".join(kept)


# Field types for the commands that carry a person's words into the core, so every platform's
# text is cleaned in one place whatever adapter built the command.
Comment = Annotated[str, AfterValidator(clean)]
