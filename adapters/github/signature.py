"""GitHub's webhook signatures (`X-Hub-Signature-256`), checked over the raw body first.

Imports the standard library only. The secret is the App's webhook secret; the comparison
takes the same time however much of a forged signature is right.
"""

from __future__ import annotations

import hashlib
import hmac
import re

HEADER = "X-Hub-Signature-256"
_FORM = re.compile(r"^sha256=[0-9a-f]{64}$")


def sign(secret: bytes, body: bytes) -> str:
    """The header value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_problem(secret: bytes, body: bytes, given: list[str]) -> str | None:
    """Why the delivery is not GitHub's, or None when its signature is right."""
    if not secret.strip():
        return "no webhook secret is configured"
    if not given:
        return f"missing {HEADER}"
    if len(given) > 1:
        return f"more than one {HEADER}"
    if not _FORM.match(given[0]):
        return f"{HEADER} is not sha256=<64 hex digits>"
    if not hmac.compare_digest(sign(secret, body).encode(), given[0].encode()):
        return f"{HEADER} does not match the body"
    return None
