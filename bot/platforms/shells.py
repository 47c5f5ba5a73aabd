"""What every chat adapter gets from the shell: the services, behind the adapters' interface."""

from __future__ import annotations

from adapters.shell import ChatShell
from bot.runtime import Runtime
from bot.services.ids import new_incident_id, new_request_id
from workflows.policy import Policy


def chat_shell(runtime: Runtime) -> ChatShell:
    """What every chat adapter gets from the shell: the services, as plain callables."""
    service = runtime.service

    def policy() -> Policy:
        return runtime.policies.current.policy

    return ChatShell(
        dispatch=service.handle,
        new_request_id=new_request_id,
        policy=policy,
        waiting_on=service.waiting_on,
        card_for=service.card_for,
        answer_on_card=service.answer_on_card,
        incident=runtime.incidents.handle,
        new_incident_id=new_incident_id,
    )
