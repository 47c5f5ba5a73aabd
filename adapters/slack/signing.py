"""Slack's v0 request signatures, checked over the raw body before anything is parsed.

Imports the standard library only. Every malformed header or body is a plain refusal with a
reason, never an exception: an unauthenticated caller must not be able to cause a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_SKEW_SECONDS = 300
# ASCII digits only: int() would also accept spaces, signs and other scripts' digits.
_TIMESTAMP = re.compile(rb"^[0-9]{1,12}$")
_SIGNATURE = re.compile(rb"^v0=[0-9a-f]{64}$")


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str
    kind: str = "signed"  # a short, fixed word for metrics: which check refused


@dataclass(frozen=True)
class SigningSecrets:
    """The signing secret in force and, while a rotation overlaps, the previous one (SIG-16).

    Slack signs with one secret at a time; during a rotation requests already in flight, or
    from a second app configuration, may still carry the old one until `previous_until`.
    """

    current: bytes
    previous: bytes = b""
    previous_until: float = 0.0

    def accepted(self, now: float) -> tuple[bytes, ...]:
        if self.previous.strip() and now <= self.previous_until:
            return (self.current, self.previous)
        return (self.current,)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` value Slack would send for this body."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def _single(values: Sequence[str], name: str) -> tuple[bytes | None, str]:
    if not values:
        return None, f"missing {name}"
    if len(values) > 1:
        return None, f"more than one {name}"
    try:
        return values[0].encode("ascii"), ""
    except UnicodeEncodeError:
        return None, f"{name} is not ASCII"


def check_signature(
    secrets: Sequence[bytes],
    timestamps: Sequence[str],
    signatures: Sequence[str],
    body: bytes,
    now: float,
) -> SignatureCheck:
    """Whether `body` was signed by Slack with one of `secrets` within five minutes of `now`.

    Header values come as lists so that a repeated header is refused rather than guessed at.
    """
    secrets = [s for s in secrets if s.strip()]
    if not secrets:
        return SignatureCheck(False, "no signing secret is configured", "no-secret")
    timestamp, problem = _single(timestamps, "X-Slack-Request-Timestamp")
    if timestamp is None:
        return SignatureCheck(False, problem, "bad-header")
    signature, problem = _single(signatures, "X-Slack-Signature")
    if signature is None:
        return SignatureCheck(False, problem, "bad-header")
    if not _TIMESTAMP.match(timestamp):
        return SignatureCheck(False, "the timestamp is not a whole number of seconds", "bad-header")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        # Also what a server with a wrong clock sees on every request (SIG-17).
        return SignatureCheck(
            False, "the timestamp is more than five minutes from now", "clock-skew"
        )
    if not _SIGNATURE.match(signature):
        return SignatureCheck(
            False, "the signature is not of the form v0=<64 hex digits>", "bad-header"
        )
    # Every secret is compared, so the time taken does not say which one matched.
    matches = [
        hmac.compare_digest(sign(s, timestamp.decode("ascii"), body).encode("ascii"), signature)
        for s in secrets
    ]
    if not any(matches):
        return SignatureCheck(False, "the signature does not match the body", "bad-signature")
    return SignatureCheck(True, "signed by Slack")
