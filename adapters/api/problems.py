"""API v1's refusals as RFC 9457 problem details, each with a stable `type`; no `bot`.

A `type` is a relative URI under `/api/v1/problems/`, which the server also answers with
the problem's description, so a client that follows it learns what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from adapters.api.schema import Problem

PROBLEMS_PATH = "/api/v1/problems/"
MEDIA_TYPE = "application/problem+json"


class Kind(StrEnum):
    MALFORMED = "malformed"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency-key-required"
    UNAUTHENTICATED = "unauthenticated"
    NOT_ALLOWED = "not-allowed"
    NOT_FOUND = "not-found"
    UNKNOWN_SYSTEM = "unknown-system"
    UNKNOWN_ACTIVITY = "unknown-activity"
    FROZEN = "frozen"
    IN_FLIGHT = "in-flight"
    NOT_PENDING = "not-pending"
    TOO_LARGE = "too-large"
    KEY_REUSED = "idempotency-key-reused"
    INVALID_FIELD = "invalid-field"
    REFUSED = "refused"
    RATE_LIMITED = "rate-limited"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class _About:
    status: int
    title: str
    description: str


ABOUT: dict[Kind, _About] = {
    Kind.MALFORMED: _About(400, "Malformed request", "The body is not the JSON this route takes."),
    Kind.IDEMPOTENCY_KEY_REQUIRED: _About(
        400,
        "Idempotency-Key required",
        "Opening a request needs an Idempotency-Key header, so a retried call finds the "
        "request it opened instead of opening a second one.",
    ),
    Kind.UNAUTHENTICATED: _About(
        401,
        "Not authenticated",
        "The bearer token or workload identity token was missing, unknown, revoked, expired "
        "or issued for another audience.",
    ),
    Kind.NOT_ALLOWED: _About(
        403,
        "Not allowed to ask for this",
        "The policy's `clients:` section does not let this client ask for this activity of "
        "this system.",
    ),
    Kind.NOT_FOUND: _About(404, "Not found", "No such request among this client's requests."),
    Kind.UNKNOWN_SYSTEM: _About(404, "Unknown system", "The policy names no such AI system."),
    Kind.UNKNOWN_ACTIVITY: _About(
        404, "Unknown activity", "The system's RACI names no such approval activity."
    ),
    Kind.FROZEN: _About(
        409,
        "Frozen by an incident",
        "An open incident on the system freezes this activity until the incident closes.",
    ),
    Kind.IN_FLIGHT: _About(
        409,
        "Same key in flight",
        "A call with the same Idempotency-Key is still being handled; retry shortly.",
    ),
    Kind.NOT_PENDING: _About(
        409, "Already decided", "The request is no longer pending, so it cannot be cancelled."
    ),
    Kind.TOO_LARGE: _About(413, "Body too large", "Request bodies are limited to 64 KiB."),
    Kind.KEY_REUSED: _About(
        422,
        "Idempotency-Key reused",
        "This Idempotency-Key opened a request with a different body; use a new key.",
    ),
    Kind.INVALID_FIELD: _About(
        422, "Invalid field", "A field of the body is missing or has a value it cannot take."
    ),
    Kind.REFUSED: _About(
        422,
        "Refused by the policy",
        "The policy cannot route this request (for example, nobody but the requester could "
        "approve it); the detail says why.",
    ),
    Kind.RATE_LIMITED: _About(
        429, "Too many requests", "This client asked too often; retry after Retry-After seconds."
    ),
    Kind.UNAVAILABLE: _About(
        503,
        "Unavailable",
        "Signoff cannot reach its database; nothing was changed. Retry; never treat this as "
        "approval.",
    ),
}


def problem(kind: Kind, detail: str, instance: str | None = None) -> Problem:
    about = ABOUT[kind]
    return Problem(
        type=PROBLEMS_PATH + kind.value,
        title=about.title,
        status=about.status,
        detail=detail,
        instance=instance,
    )


class ApiProblem(Exception):
    """Raised anywhere below a route; the route answers it as problem details."""

    def __init__(self, kind: Kind, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.headers = kind, detail, headers or {}
