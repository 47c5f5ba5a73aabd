"""The policy's `github:` section, what the gate may open, and what a waiting run is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.policies import build_policy
from workflows.commands import OpenRequest
from workflows.github import GITHUB
from workflows.github_review import refused, review_of
from workflows.model import Actor, Status, Verdict, Vote
from workflows.opening import open_request
from workflows.policy import Policy
from workflows.policy_load import PolicyError, load_policy

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
BASE = """\
version: 1
people:
  mina: {name: Mina Park, email: mina@acme.example}
  jae: {name: Jae Kim, email: jae@acme.example}
roles:
  lead: {members: [mina]}
  eng: {members: [jae]}
tiers:
  limited: {quorum: 1, review_every: 90d, remind_after: 24h, expire_after: 7d}
systems:
  chatbot:
    name: Chatbot
    tier: limited
    raci:
      deploy: {responsible: [eng], accountable: lead}
"""


def _problems(github: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(BASE + github, "policy.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_section_maps_environments_ignoring_case() -> None:
    loaded = load_policy(
        BASE + "github:\n  environments:\n    Acme/Bot: {Production: chatbot}\n", "p"
    )
    gate = loaded.policy.github
    assert gate is not None
    assert gate.system_for("acme/bot", "production") == "chatbot"
    assert gate.system_for("acme/bot", "staging") is None
    assert gate.system_for("acme/other", "production") is None


@pytest.mark.parametrize(
    ("github", "expected"),
    [
        (
            "github:\n  environments:\n    acme/bot: {production: weather}\n",
            "policy.yaml:18: github.environments.acme/bot.production: unknown system 'weather'",
        ),
        (
            "github:\n  environments:\n    not-a-repo: {production: chatbot}\n",
            "policy.yaml:17: github.environments: 'not-a-repo' is not a repository",
        ),
        ("github:\n  environments: {}\n", "policy.yaml:17: github.environments: Dictionary should"),
        (
            "github:\n  environments:\n    acme/bot: {production: chatbot}\n"
            "    ACME/bot: {staging: chatbot}\n",
            "policy.yaml:17: github.environments: a repository is listed twice",
        ),
        ("github:\n  repos: {}\n", "policy.yaml:17: github.repos: unknown field 'repos'"),
    ],
)
def test_mistakes_are_named_with_file_and_line(github: str, expected: str) -> None:
    problems = _problems(github)
    assert any(p.startswith(expected) for p in problems), problems


def _policy() -> Policy:
    def change(raw: dict[str, Any]) -> None:
        raw["github"] = {"environments": {"acme/docs": {"production": "doc-search"}}}

    return build_policy(change)


def _ask(
    repository: str = "acme/docs", environment: str = "production", system: str = "doc-search"
) -> OpenRequest:
    return OpenRequest(
        request_id="R1",
        actor=Actor(person=None, platform=GITHUB, platform_user_id=repository),
        system=system,
        version="9f2c",
        environment=environment,
        on_behalf_of="soo",
    )


def test_the_gate_may_open_only_what_the_section_maps() -> None:
    policy = _policy()
    opened = open_request(_ask(), policy, NOW, "d")
    assert opened.outcome.ok and opened.state is not None
    assert opened.state.requesters() == ("soo",)
    for ask in (_ask("acme/other"), _ask(environment="staging"), _ask(system="credit-scoring")):
        refusal = open_request(ask, policy, NOW, "d")
        assert not refusal.outcome.ok and refusal.outcome.code == "client-not-allowed"
        assert [e.action for e in refusal.audit] == ["denied"]


def test_what_the_run_is_told_for_every_state() -> None:
    policy = _policy()
    state = open_request(_ask(), policy, NOW, "d").state
    assert state is not None
    pending = review_of(state, policy)
    assert pending.state is None and "is waiting: 0 of 1 approvals" in pending.comment

    vote = Vote(person="mina", verdict=Verdict.APPROVE, at=NOW, platform="slack")
    approved = state.model_copy(
        update={"status": Status.APPROVED, "approvals": (vote,), "decided_at": NOW}
    )
    said = review_of(approved, policy)
    assert said.state == "approved" and "approved by Mina Park" in said.comment

    no = vote.model_copy(update={"verdict": Verdict.REJECT, "comment": "no audit"})
    rejected = state.model_copy(
        update={"status": Status.REJECTED, "rejection": no, "decided_at": NOW}
    )
    said = review_of(rejected, policy)
    assert said.state == "rejected" and "no audit" in said.comment

    later = NOW + timedelta(days=8)
    expired = state.model_copy(update={"status": Status.EXPIRED, "decided_at": later})
    said = review_of(expired, policy)
    assert said.state == "rejected" and "expired" in said.comment

    cancelled = state.model_copy(update={"status": Status.CANCELLED, "decided_at": later})
    said = review_of(cancelled, policy)
    assert said.state == "rejected" and "cancelled" in said.comment

    assert refused("x" * 5000).state == "rejected"
    assert len(refused("x" * 5000).comment) == 1000
