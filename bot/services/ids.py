"""The ids the shell gives new requests, reviews and incidents; imports nothing ours."""

from __future__ import annotations

import secrets

_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _random_id(prefix: str) -> str:
    """`prefix` and 12 Crockford base-32 characters: short enough to type, hard to guess."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def new_request_id() -> str:
    return _random_id("R")


def new_review_id() -> str:
    return _random_id("V")


def new_incident_id() -> str:
    return _random_id("I")
