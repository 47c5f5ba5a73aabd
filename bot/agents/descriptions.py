"""What `signoff mcp` tells a model about itself and each tool, and each tool's annotations.

Words for a model to act on: never act unless approved, wait again while pending. Imports
only the MCP SDK's types.
"""

from __future__ import annotations

from mcp.types import ToolAnnotations

INSTRUCTIONS = (
    "Signoff asks the people accountable for an AI system to approve an action before an "
    "agent takes it. Before any action the user or the policy says needs approval: call "
    "request_approval, then wait_for_decision (again and again while it answers pending). "
    "Perform the action only when the status is approved, and only the action described. "
    "Rejected, expired, cancelled, an error or no answer all mean: do not perform it. These "
    "tools can never approve anything themselves."
)
NEVER = " Never perform the action unless the status is `approved`."

DESCRIPTIONS = {
    "request_approval": "Ask the people accountable for an AI system to approve one action "
    "BEFORE you take it. Returns at once with a request_id and status `pending`, who was asked "
    "and a link. Then call wait_for_decision. Errors say why Signoff refused (not allowed to "
    "ask for this activity, unknown system or activity, system frozen by an incident)." + NEVER,
    "wait_for_decision": "Wait up to max_wait_seconds (at most 50) for people to decide a "
    "request. Returns the status: `pending` means nobody has decided yet, so call this again; "
    "`approved` means you may now take exactly the action described; `rejected`, `expired` or "
    "`cancelled` mean you must not, and say who decided and why." + NEVER,
    "get_request": "Read a request this agent opened, as it is now, without waiting: its "
    "status, who approved or rejected it and why, its deadlines." + NEVER,
    "cancel_request": "Withdraw a pending request this agent opened (for example because the "
    "user no longer wants the action). Decided requests cannot be cancelled.",
    "list_my_requests": "List the requests this agent has opened, newest first, optionally "
    "only those in one status." + NEVER,
    "describe_system": "What Signoff knows of an AI system: its risk tier, its approval "
    "activities and who decides each, whether an incident freezes it, and what this agent "
    "may ask for. Use it to check names before request_approval.",
}

ANNOTATIONS = {
    "request_approval": ToolAnnotations(
        title="Ask people to approve an action",
        readOnlyHint=False,
        destructiveHint=False,
        idempotentHint=False,
        openWorldHint=True,
    ),
    "wait_for_decision": ToolAnnotations(
        title="Wait for the decision", readOnlyHint=True, idempotentHint=True, openWorldHint=False
    ),
    "get_request": ToolAnnotations(
        title="Read a request", readOnlyHint=True, idempotentHint=True, openWorldHint=False
    ),
    "cancel_request": ToolAnnotations(
        title="Withdraw a pending request",
        readOnlyHint=False,
        destructiveHint=True,
        idempotentHint=False,
        openWorldHint=True,
    ),
    "list_my_requests": ToolAnnotations(
        title="List this agent's requests",
        readOnlyHint=True,
        idempotentHint=True,
        openWorldHint=False,
    ),
    "describe_system": ToolAnnotations(
        title="Describe an AI system", readOnlyHint=True, idempotentHint=True, openWorldHint=False
    ),
}
