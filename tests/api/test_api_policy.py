"""The policy's `clients:` section is checked like the rest of the file: FILE:LINE and a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.policy_load import PolicyError, load_policy

POLICY = (Path(__file__).parent / "policy.yaml").read_text()


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as refused:
        load_policy(text, "policy.yaml")
    return [str(problem) for problem in refused.value.problems]


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_api_test_policy_with_its_clients_is_accepted() -> None:
    policy = load_policy(POLICY, "policy.yaml").policy
    assert policy.clients["support-agent"].may_ask("support-chatbot", "refund")
    assert not policy.clients["support-agent"].may_ask("credit-scoring", "deploy")
    assert policy.people["jae"].github == "jae-kim"


def test_a_client_asking_for_an_unknown_system_is_refused_with_its_line() -> None:
    text = POLICY.replace("may_request: {credit-scoring: [deploy]}\n  credit-gate", (
        "may_request: {credit-scorring: [deploy]}\n  credit-gate"))  # fmt: skip
    problems = _problems(text)
    line = _line(text, "credit-scorring")
    assert problems == [
        f"policy.yaml:{line}: clients.credit-ci.may_request.credit-scorring: unknown system "
        "'credit-scorring' (known: credit-scoring, support-chatbot)"
    ]


def test_a_client_asking_for_an_activity_the_system_lacks_is_refused_with_its_line() -> None:
    text = POLICY.replace("{support-chatbot: [deploy, refund]}", "{support-chatbot: [deploy,\n"
                          "                                   incident]}")  # fmt: skip
    problems = _problems(text)
    assert len(problems) == 1
    assert problems[0].startswith(f"policy.yaml:{_line(text, '   incident]}')}: ")
    assert (
        "'incident' is not an approval activity of support-chatbot (it has: deploy, refund)"
        in (problems[0])
    )


def test_a_client_without_a_way_to_authenticate_is_refused() -> None:
    text = POLICY.replace("    token: true\n    may_request: {credit", "    may_request: {credit")
    [problem] = _problems(text)
    assert problem.startswith(f"policy.yaml:{_line(text, '  credit-ci:')}: ")
    assert "a client needs a way in" in problem


def test_two_people_with_one_github_login_are_refused() -> None:
    text = POLICY.replace("slack: U0DAN}", "slack: U0DAN, github: jae-kim}")
    [problem] = _problems(text)
    assert problem.startswith(f"policy.yaml:{_line(text, 'U0DAN')}: ")
    assert "duplicate github 'jae-kim', already used by 'jae'" in problem
