"""A machine asks as the policy's `clients:` allow, through the same machine as a person."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from workflows.commands import OpenRequest
from workflows.machine import step
from workflows.model import Actor
from workflows.policy_load import load_policy

LOADED = load_policy((Path(__file__).parent / "policy.yaml").read_text(), "policy.yaml")
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _open(client: str, system: str, activity: str = "deploy", **more: str) -> OpenRequest:
    actor = Actor(person=None, platform="api", platform_user_id=client)
    return OpenRequest(
        request_id="R1", actor=actor, system=system, activity=activity, version="1.0", **more
    )


def test_a_client_opens_what_its_may_request_lists_without_being_responsible() -> None:
    result = step(None, _open("support-agent", "support-chatbot", "refund"), LOADED.policy,
                  NOW, LOADED.digest)  # fmt: skip
    assert result.outcome.ok and result.state is not None
    assert result.state.requester.platform_user_id == "support-agent"
    assert [e.action for e in result.audit] == ["requested"]


def test_a_client_asking_for_what_its_may_request_does_not_list_is_denied_and_audited() -> None:
    result = step(None, _open("support-agent", "credit-scoring"), LOADED.policy, NOW,
                  LOADED.digest)  # fmt: skip
    assert result.state is None
    assert result.outcome.code == "client-not-allowed"
    assert "does not let client support-agent ask" in result.outcome.message
    [denied] = result.audit
    assert denied.action == "denied" and denied.data["reason"] == "client-not-allowed"


def test_a_client_the_policy_does_not_list_is_denied() -> None:
    result = step(None, _open("stranger", "support-chatbot"), LOADED.policy, NOW, LOADED.digest)
    assert result.outcome.code == "client-not-allowed"


def test_the_person_a_client_asks_for_cannot_approve_it() -> None:
    command = _open("support-agent", "support-chatbot", on_behalf_of="mina")
    opened = step(None, command, LOADED.policy, NOW, LOADED.digest)
    assert opened.state is not None
    assert opened.state.requesters() == ("mina",)
    assert "asked Tomas Berg to approve" in opened.outcome.message
