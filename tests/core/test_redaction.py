"""Secrets never survive masking, whether named by their field or recognisable by shape."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from workflows.redaction import MASK, digest, mask, mask_text, preview

SECRET_CHARS = string.ascii_letters + string.digits
secrets = st.text(SECRET_CHARS, min_size=24, max_size=40)


@given(secrets, st.sampled_from(["password", "api_key", "Authorization", "db_token", "secret"]))
def test_a_secret_named_field_is_masked_at_any_depth(secret: str, name: str) -> None:
    details = {"query": "select 1", "connection": {"host": "db", name: secret}, "n": 3}
    shown = preview(details)
    assert secret not in shown
    assert '"host": "db"' in shown and '"n": 3' in shown


@given(
    secrets,
    st.sampled_from(
        [
            "Bearer {}",
            "xoxb-{}",
            "ghp_{}",
            "github_pat_{}",
            "glpat-{}",
            "sk-{}",
            "whsec_{}",
            "so_0123456789abcdef_{}",
            "Authorization: Bearer {}",
            "Authorization: Basic {}",
            "authorization: token {}",
            "X-Api-Key: {}",
            "https://deploy:{}@registry.example.com/v2/",
            "password={}",
            'config: {{"client_secret": "{}"}}',
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
        ]
    ),
)
def test_a_secret_shaped_string_is_masked_in_free_text(secret: str, shape: str) -> None:
    text = "run the migration with " + shape.format(secret) + " then restart"
    masked = mask_text(text)
    assert secret not in masked
    assert MASK in masked
    assert masked.startswith("run the migration with ")


def test_a_jwt_and_an_aws_key_id_are_masked() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
    masked = mask_text(f"token {jwt} and AKIAABCDEFGHIJKLMNOP")
    assert jwt not in masked and "AKIAABCDEFGHIJKLMNOP" not in masked


def test_ordinary_words_are_left_alone() -> None:
    details = {"model": "fraud-scorer", "version": "2.3.1", "tokens_per_minute": None}
    assert mask(details) == details
    assert mask_text("rotate the keyboard layout; tokenize the input") == (
        "rotate the keyboard layout; tokenize the input"
    )


def test_the_digest_binds_the_exact_arguments_and_ignores_key_order() -> None:
    assert digest({"a": 1, "b": "x"}) == digest({"b": "x", "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert digest({"password": "one"}) != digest({"password": "two"})  # masked, still bound
    assert digest({}).startswith("sha256:") and len(digest({})) == len("sha256:") + 64


def test_a_long_preview_is_cut() -> None:
    shown = preview({"sql": "x" * 5000}, limit=100)
    assert len(shown) == 100 and shown.endswith("…")
