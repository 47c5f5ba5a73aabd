"""What an agent is told: a request view made short, the next step, and why Signoff said no.

Written for a model to read and act on. Pure text from API v1's JSON; the standard library
and `bot.client.wire`'s errors only.
"""

from __future__ import annotations

from typing import Any

from bot.client.wire import Refused, Unreachable, View

# The retry hint given with `pending`: wait_for_decision itself waits, so it may be called
# again at once.
CHECK_AGAIN_SECONDS = 0

NEXT_STEP = {
    "pending": "NOT approved yet: do not perform the action. Call wait_for_decision with this "
    "request_id, and call it again each time it answers pending.",
    "approved": "Approved: you may now perform exactly the action that was described, once. "
    "Anything different needs a new request.",
    "rejected": "Rejected: do NOT perform the action. Tell the user who rejected it and why.",
    "expired": "Expired: nobody decided in time, so the answer is no. Do NOT perform the action; "
    "ask again only if the user still wants it.",
    "cancelled": "Cancelled: the request was withdrawn. Do NOT perform the action.",
}

# What each refusal of API v1 (its problem type) means for the agent.
ADVICE = {
    "not-allowed": "This agent's client may not ask for that activity of that system under the "
    "policy. Do not perform the action; tell the user an operator would have to allow it.",
    "unknown-system": "The policy names no such system, or this agent may not ask about it. "
    "Check the name with describe_system, or tell the user.",
    "unknown-activity": "That system has no such approval activity. Check with describe_system.",
    "frozen": "An open incident freezes this system: nothing is approved until it closes. Do not "
    "perform the action; tell the user, naming the incident.",
    "not-found": "No request with that id was opened by this agent.",
    "not-pending": "The request is already decided; read it with get_request.",
    "idempotency-key-reused": "That idempotency_key already stands for a different request. "
    "Use a new key for a new request, or the same arguments to find the old one.",
    "invalid-field": "A field was not acceptable; correct it and call again.",
    "too-large": "The request is too large; shorten summary, reason or details.",
    "unauthenticated": "Signoff did not accept this agent's token (SIGNOFF_TOKEN). Nothing can be "
    "asked until an operator fixes the configuration; do not perform the action.",
    "rate-limited": "Too many requests from this agent; wait a while before asking again.",
}


def short(view: View, base_url: str) -> dict[str, Any]:
    """What a model needs of a view: its status, who decided, and what to do next."""
    link = (view.get("links") or {}).get("console") or ""
    if link.startswith("/"):
        link = base_url.rstrip("/") + link
    quorum = view.get("quorum") or {}
    told: dict[str, Any] = {
        "request_id": view["id"],
        "status": view["status"],
        "system": view.get("system"),
        "activity": view.get("activity"),
        "approved_by": [vote["person"] for vote in quorum.get("approvals", [])],
        "approvals_needed": quorum.get("needed"),
        "next_step": NEXT_STEP.get(view["status"], NEXT_STEP["pending"]),
        "link": link,
    }
    if view["status"] == "pending":
        told["waiting_for"] = view.get("waiting_for")
        told["expires_at"] = (view.get("deadlines") or {}).get("expires_at")
        told["check_again_in_seconds"] = CHECK_AGAIN_SECONDS
    rejection = view.get("rejection")
    if rejection:
        told["rejected_by"] = rejection.get("person")
        told["rejection_reason"] = rejection.get("reason")
    if view.get("frozen_by"):
        told["frozen_by"] = view["frozen_by"]
    return told


def asked(view: View, system: View | None) -> str:
    """Who was asked, as far as the system's view tells it."""
    role = ((system or {}).get("accountable") or {}).get(view.get("activity", ""))
    whom = f"the Accountable role {role}" if role else "the Accountable role"
    if view.get("waiting_for") == "consultation":
        return f"{whom} of {view.get('system')}, after those consulted have answered"
    return f"{whom} of {view.get('system')}"


def problem_type(error: Refused) -> str:
    return error.type.rsplit("/", 1)[-1]


def refusal(error: Refused | Unreachable) -> dict[str, Any]:
    """A refusal or silence of Signoff as a model reads it; never a reason to go ahead."""
    if isinstance(error, Unreachable):
        return {
            "error": "Signoff did not answer",
            "detail": str(error),
            "meaning": "Nothing was approved. Do not perform the action; try again later.",
        }
    kind = problem_type(error)
    return {
        "error": str(error),
        "status": error.status,
        "type": kind or None,
        "meaning": ADVICE.get(kind, "Signoff refused the call; nothing was approved.")
        + " Never perform the action unless a request's status is approved.",
    }
