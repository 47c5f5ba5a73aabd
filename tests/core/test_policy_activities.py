"""Named activities in the policy, and policies that pass a naive check but cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_POLICY
from workflows.policy_load import PolicyError, load_policy

VALID = (Path(__file__).parent / "policy_cases" / "valid.yaml").read_text(encoding="utf-8")

DATA_ACCESS = """
      data-access:
        responsible: [sec]
        accountable: owners
        informed: ["#gov"]
        overrides: {quorum: 1, expire_after: 24h}
"""


def _with(old: str, new: str, text: str = VALID) -> str:
    assert old in text
    return text.replace(old, new, 1)


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, "policy.yaml")
    return [str(p) for p in caught.value.problems]


def _with_data_access(extra: str = "") -> str:
    text = _with("  sec: {members: [dan]}", "  sec: {members: [dan]}\n  owners: {members: [mina]}")
    return text.rstrip("\n") + DATA_ACCESS + extra


def test_any_other_key_under_raci_is_an_approval_activity_with_its_own_rules() -> None:
    policy = load_policy(_with_data_access(), "policy.yaml").policy
    scoring = policy.systems["scoring"]
    assert scoring.approval_activities == ("deploy", "data-access")
    rules = policy.rules_for("scoring", "data-access")
    assert (rules.quorum, rules.expire_after.total_seconds()) == (1, 86400)
    assert rules.consult_first  # what the activity does not override comes from the tier
    assert policy.rules_for("scoring", "deploy").quorum == 2
    assert policy.freezes("scoring", "deploy") and not policy.freezes("scoring", "data-access")


def test_an_activity_may_say_that_an_incident_freezes_it_and_deploy_may_say_it_does_not() -> None:
    text = _with_data_access("        incident_freezes: true\n")
    text = _with("        informed: [\"#gov\"]\n", "        informed: [\"#gov\"]\n        "
                 "incident_freezes: false\n", text)  # fmt: skip
    policy = load_policy(text, "policy.yaml").policy
    assert policy.freezes("scoring", "data-access")
    assert not policy.freezes("scoring", "deploy")


def test_an_activity_quorum_larger_than_its_accountable_role_names_its_line() -> None:
    text = _with_data_access().replace("{quorum: 1, expire_after: 24h}", "{quorum: 2}")
    problems = _problems(text)
    assert (
        "policy.yaml:27: systems.scoring.raci.data-access.accountable: the Accountable role "
        "'owners' has 1 member(s) but scoring needs a quorum of 2 for data-access"
    ) in problems


def test_an_unknown_rule_in_an_activity_override_names_its_line() -> None:
    text = _with_data_access().replace("expire_after: 24h", "review_every: 30d")
    assert any(
        p.startswith("policy.yaml:29:") and "unknown field 'review_every'" in p
        for p in _problems(text)
    )


def test_overrides_on_risk_review_or_incident_are_refused() -> None:
    text = VALID.rstrip("\n") + (
        "\n      risk-review:\n        responsible: [eng]\n        accountable: lead\n"
        "        overrides: {quorum: 1}\n"
    )
    assert _problems(text) == [
        "policy.yaml:27: systems.scoring.raci.risk-review.overrides: 'overrides' applies to "
        "approval activities, not to risk-review"
    ]


def test_issue13_7_the_same_person_twice_in_a_quorum_two_role_is_refused() -> None:
    text = _with("lead: {members: [mina, jae], backup: [dan]}", "lead: {members: [mina, mina]}")
    problems = _problems(text)
    assert (
        "policy.yaml:7: roles.lead.members.1: 'mina' is listed twice; a person counts once "
        "towards a quorum"
    ) in problems
    assert any("'lead' has 1 member(s) but scoring needs a quorum of 2" in p for p in problems)


def test_issue13_7_an_accountable_role_with_no_members_is_refused_for_any_activity() -> None:
    text = _with("  sec: {members: [dan]}", "  sec: {members: [dan]}\n  nobody: {members: []}")
    text = text.rstrip("\n") + (
        "\n      incident:\n        responsible: [eng]\n        accountable: nobody\n"
    )
    assert _problems(text) == [
        "policy.yaml:27: systems.scoring.raci.incident.accountable: the Accountable role "
        "'nobody' has no members"
    ]


def test_issue13_7_a_system_whose_only_approver_is_the_asker_is_refused() -> None:
    text = _with("lead: {members: [mina, jae], backup: [dan]}", "lead: {members: [jae]}")
    text = text.replace("quorum: 2", "quorum: 1")
    assert _problems(text) == [
        "policy.yaml:20: systems.scoring.raci.deploy.responsible: when jae asks for deploy on "
        "scoring, only 0 other Accountable or backup people can approve but the quorum is 1; "
        "add a member or a backup to 'lead'"
    ]


def test_a_backup_makes_up_for_the_asker_among_the_accountable() -> None:
    text = _with("lead: {members: [mina, jae], backup: [dan]}", "lead: {members: [jae], "
                 "backup: [dan]}").replace("quorum: 2", "quorum: 1")  # fmt: skip
    assert load_policy(text, "policy.yaml").policy.roles["lead"].backup == ("dan",)


def test_the_example_policy_names_two_activities_whose_raci_differs_from_deploy() -> None:
    policy = load_policy(EXAMPLE_POLICY.read_bytes(), str(EXAMPLE_POLICY)).policy
    named = {
        (system_id, activity)
        for system_id, system in policy.systems.items()
        for activity in system.approval_activities
        if activity != "deploy"
    }
    assert named == {("credit-scoring", "data-access"), ("support-chatbot", "prompt-change")}
    for system_id, activity in named:
        own, deploy = (
            policy.systems[system_id].raci[activity],
            policy.systems[system_id].raci["deploy"],
        )
        assert own.accountable != deploy.accountable
        assert own.consulted != deploy.consulted
    assert policy.rules_for("credit-scoring", "data-access").quorum == 1
    assert policy.rules_for("credit-scoring", "deploy").quorum == 2
    assert not policy.freezes("credit-scoring", "data-access")
    assert policy.freezes("support-chatbot", "prompt-change")
