"""What a chat adapter needs from the shell, handed in so adapters never import `bot`; pure."""

from __future__ import annotations

from adapters.inbound import ChatShell
from workflows.commands import Cancel, OpenRequest
from workflows.grammar import (
    USAGE,
    CancelRequest,
    CloseIncident,
    Help,
    OpenIncident,
    RequestApproval,
    ShowRaci,
    ShowStatus,
    help_text,
)
from workflows.incidents import EndIncident, StartIncident
from workflows.machine_types import Outcome
from workflows.model import Actor
from workflows.policy import Policy
from workflows.wording import activities_text, raci_text

# How a request id looks in a button's data, on every platform (the shell makes them).
REQUEST_ID = r"R[0-9A-Z]{6,26}"


async def answer_text_command(
    shell: ChatShell, actor: Actor, parsed: object, delivery: tuple[str, str] | None = None
) -> str | None:
    """The reply to a command every platform answers alike; None for the others, "" for none."""
    match parsed:
        case RequestApproval(activity=str(activity), system=str(system)) if parsed.complete:
            command = OpenRequest(
                request_id=shell.new_request_id(),
                actor=actor,
                system=system,
                activity=activity,
                version=parsed.version,
                environment=parsed.environment,
                reason=parsed.reason,
            )
            return _reply(await shell.dispatch(command, delivery))
        case CancelRequest(request_id=request_id, reason=reason):
            cancel = Cancel(request_id=request_id, actor=actor, reason=reason)
            return _reply(await shell.dispatch(cancel, delivery))
        case ShowRaci(system=system):
            return raci_text(shell.policy(), system)
        case ShowStatus():
            return await shell.waiting_on(actor)
        case Help(topic=topic):
            return _help(shell.policy(), topic)
        case OpenIncident(system=system, severity=severity, summary=summary):
            start = StartIncident(
                incident_id=shell.new_incident_id(),
                number=0,  # the shell counts the day's incidents
                actor=actor,
                system=system,
                severity=severity,
                summary=summary,
            )
            return (await shell.incident(start)).message
        case CloseIncident(incident_id=incident_id, summary=summary):
            end = EndIncident(incident_id=incident_id, actor=actor, summary=summary)
            return (await shell.incident(end)).message
    return None


def incomplete_request(parsed: RequestApproval) -> str:
    """For platforms without a form: how to write the request in full."""
    command = "deploy" if parsed.activity == "deploy" else "request"
    return f"{help_text(command)}\n'help <system>' lists what can be asked for a system."


def _help(policy: Policy, topic: str | None) -> str:
    """A command's usage, a system's activities, or every command."""
    if topic is None or topic in USAGE:
        return help_text(topic)
    if topic in policy.systems:
        return activities_text(policy, topic)
    systems = ", ".join(sorted(policy.systems)) or "none"
    return (
        f"There is no command or AI system '{topic}'. Commands: {', '.join(USAGE)}. "
        f"Systems: {systems}."
    )


def _reply(outcome: Outcome) -> str:
    """What to say back; nothing at all to a redelivery, which was answered the first time."""
    return "" if outcome.code == "duplicate" else outcome.message


def private_note(outcome: Outcome) -> str | None:
    """What only the person who pressed a button should read: a refusal, or "you already did"."""
    if not outcome.ok or outcome.code in ("already-voted", "already-answered"):
        return outcome.message
    return None
