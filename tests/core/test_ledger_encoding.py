"""The ledger's fast canonical JSON writes exactly the bytes of its definition with `json`.

Every hash in every ledger depends on these bytes, so the fast encoder is checked against
the reference on arbitrary JSON values: odd strings, deep nesting, large integers.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.ledger import _encode, canonical_json, reference_encode

# JSON as the ledger holds it: no floats (canonical_json refuses them).
scalars = st.none() | st.booleans() | st.integers() | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
# Characters where encoders differ if anywhere: controls, quotes, DEL, separators,
# non-BMP characters, and keys that sort differently by code point and by UTF-16 unit.
tricky = st.text(
    alphabet=st.sampled_from(
        ["\x00", "\x1f", '"', "\\", "\n", "\t", "\x7f", "\u2028", "\u2029", "é", "ÿ",
         "\uffff", "\ue000", "😀", "𝄞", "a", "Z", "/", "<"]
    ),
    max_size=8,
)  # fmt: skip


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


@settings(max_examples=1000)
@given(values)
def test_the_fast_encoder_writes_the_reference_bytes(value: Any) -> None:
    if _has_surrogate(value):  # neither can write a lone surrogate as UTF-8
        return
    assert _encode(value) == reference_encode(value)


@settings(max_examples=500)
@given(st.dictionaries(tricky, tricky | st.integers(), max_size=8))
def test_odd_characters_and_key_order_match(value: dict[str, Any]) -> None:
    assert _encode(value) == reference_encode(value)


def test_integers_past_64_bits_are_written_by_the_reference() -> None:
    value = {"big": 2**70, "small": -(2**63)}
    assert canonical_json(value) == b'{"big":1180591620717411303424,"small":-9223372036854775808}'
