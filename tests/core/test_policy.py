"""Policy validation: every rule has a bad file, and each problem names its line."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from bot.policy.source import BUNDLED_POLICY, PolicyHolder, read_policy
from tests.conftest import EXAMPLE_POLICY
from workflows.policy_load import PolicyError, load_policy

CASES = Path(__file__).parent / "policy_cases"
VALID = (CASES / "valid.yaml").read_text(encoding="utf-8")


def _cases() -> list[tuple[str, int, str]]:
    rows = (CASES / "cases.txt").read_text(encoding="utf-8").splitlines()
    return [(name, int(line), phrase) for name, line, phrase in (r.split("|", 2) for r in rows)]


def _problems(text: str | bytes, name: str = "policy.yaml") -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, name)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(("name", "line", "phrase"), _cases())
def test_each_rule_names_file_and_line(name: str, line: int, phrase: str) -> None:
    path = CASES / f"{name}.yaml"
    with pytest.raises(PolicyError) as caught:
        read_policy(path)
    matching = [p for p in caught.value.problems if phrase in p.message]
    assert matching, [str(p) for p in caught.value.problems]
    assert matching[0].line == line
    assert str(matching[0]).startswith(f"{path}:{line}: ")


def _edited(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


def test_duplicate_platform_ids() -> None:
    text = _edited("jae@acme.example}", "jae@acme.example, slack: U0MINA}")
    assert _problems(text) == [
        "policy.yaml:4: people.jae.slack: duplicate slack 'U0MINA', already used by 'mina'"
    ]


def test_a_name_that_is_both_a_role_and_a_person() -> None:
    text = _edited("  sec: {members: [dan]}", "  sec: {members: [dan]}\n  jae: {members: [jae]}")
    assert any("'jae' is both a role and a person" in p for p in _problems(text))


def test_unknown_timezone_and_owner() -> None:
    text = _edited("version: 1", "version: 1\ntimezone: Mars/Olympus")
    text = text.replace("    tier: high", "    tier: high\n    owner: nobody")
    assert _problems(text) == [
        "policy.yaml:2: timezone: unknown time zone 'Mars/Olympus' (use e.g. Europe/Berlin)",
        "policy.yaml:19: systems.scoring.owner: unknown role 'nobody'",
    ]


def test_a_system_needs_a_deploy_activity() -> None:
    text = _edited("      deploy:", "      risk-review:")
    assert "policy.yaml:18: systems.scoring.raci: a 'deploy' activity is required" in _problems(
        text
    )


def test_every_problem_is_reported_in_file_order() -> None:
    text = _edited("tier: high", "tier: extreme").replace("backup: [dan]", "backup: [ghost]")
    assert [p.split(":")[1] for p in _problems(text)] == ["7", "17"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"", "policy.yaml:1: the file is empty"),
        (b"- a\n- b\n", "policy.yaml:1: the policy must be a mapping (key: value) at the top"),
        (b"version: 1\nname: \xff\xfe\n", "policy.yaml:2: the file is not valid UTF-8 text"),
    ],
)
def test_files_that_are_not_a_policy(text: bytes, expected: str) -> None:
    assert _problems(text) == [expected]


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        read_policy(tmp_path / "absent.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'absent.yaml'}:1: cannot read the file")


def test_the_example_policy_loads_and_its_digest_is_the_files() -> None:
    assert BUNDLED_POLICY == EXAMPLE_POLICY
    loaded = read_policy(EXAMPLE_POLICY)
    assert loaded.digest == hashlib.sha256(EXAMPLE_POLICY.read_bytes()).hexdigest()
    policy = loaded.policy
    assert {s.tier for s in policy.systems.values()} == {"high", "limited", "minimal"}
    for system in policy.systems.values():
        assert {"deploy", "risk-review", "incident"} <= set(system.raci)


def test_a_failed_reload_keeps_the_last_good_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(VALID, encoding="utf-8")
    holder = PolicyHolder(path)
    good = holder.current
    path.write_text(_edited("tier: high", "tier: extreme"), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="signoff.policy"):
        problems = holder.reload()
    assert [str(p) for p in problems] == [
        f"{path}:17: systems.scoring.tier: unknown tier 'extreme' (known: high)"
    ]
    assert holder.current is good
    assert f"policy reload: failed, {good.digest[:12]} stays in force" in caplog.text
    path.write_text(VALID.replace("quorum: 2", "quorum: 1"), encoding="utf-8")
    assert holder.reload() == ()
    assert holder.current.digest != good.digest
    assert holder.current.policy.tiers["high"].quorum == 1


def test_a_holder_refuses_a_bad_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(_edited("tier: high", "tier: extreme"), encoding="utf-8")
    with pytest.raises(PolicyError):
        PolicyHolder(path)


def alias_bomb(size: int = 3000) -> str:
    """A 3 KB file whose aliases stand for billions of values: each level names the last 20."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    while sum(len(line) + 1 for line in lines) < size:
        level = len(lines)
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 20)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_line_where_its_aliases_pass_the_bound() -> None:
    bomb = alias_bomb()
    assert len(bomb) >= 3000
    [problem] = _problems(bomb)
    # Level 3 is the first whose aliases alone stand for more than 10,000 nodes.
    assert problem.startswith("policy.yaml:4: ")
    assert "aliases" in problem and "10000" in problem


def test_a_recursive_alias_is_refused_at_its_line() -> None:
    assert _problems("version: 1\npeople: &p\n  mina: *p\n") == [
        "policy.yaml:3: the alias *p refers to a value that contains it"
    ]


def test_nesting_two_thousand_deep_is_refused_at_the_line_that_goes_too_deep() -> None:
    block = "version: 1\npeople:\n" + "".join(f"{' ' * i}- \n" for i in range(1000))
    # The top mapping and the sequences of lines 3 to 65 are 64 levels; line 66 is one more.
    assert _problems(block) == ["policy.yaml:66: values are nested deeper than 64 levels"]
    [flow] = _problems("version: 1\npeople: " + "[" * 2000 + "]" * 2000 + "\n")
    assert flow.startswith("policy.yaml:2: ") and "nesting depth" in flow


def test_a_file_over_one_mebibyte_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(VALID + "#" * (1024 * 1024), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        read_policy(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:1: the file is larger than 1 MiB (1048576 bytes); a policy may be at most that"
    ]


def test_anchors_and_aliases_within_the_bound_still_load() -> None:
    text = _edited("  high: {quorum: 2,", "  base: &base {quorum: 2,").replace(
        "expire_after: 72h}", "expire_after: 72h}\n  high: *base", 1
    )
    text = text.replace('informed: ["#gov"]', 'informed: &told ["#gov"]')
    text += "      incident:\n        responsible: [eng]\n        accountable: lead\n"
    text += "        informed: *told\n"
    loaded = load_policy(text, "policy.yaml")
    assert loaded.policy.tiers["high"] == loaded.policy.tiers["base"]
    assert loaded.policy.systems["scoring"].raci["incident"].informed == ("#gov",)


def test_every_reload_is_logged_with_its_outcome(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(VALID, encoding="utf-8")
    holder = PolicyHolder(path)
    with caplog.at_level(logging.INFO, logger="signoff.policy"):
        assert holder.reload() == ()
    assert f"policy reload: unchanged, {holder.current.digest[:12]} stays in force" in caplog.text


@pytest.mark.parametrize(("field", "given"), [("review_every", "30d"), ("expire_after", "72h")])
def test_a_duration_over_ten_years_is_refused_with_its_line(field: str, given: str) -> None:
    text = _edited(f"{field}: {given}", f"{field}: 999999w")
    assert _problems(text) == [
        f"policy.yaml:13: tiers.high.{field}: '999999w' is longer than ten years (3653d); "
        "no review cycle, reminder or expiry may be"
    ]
    ten_years = load_policy(_edited(f"{field}: {given}", f"{field}: 3653d"), "policy.yaml")
    assert getattr(ten_years.policy.tiers["high"], field).days == 3653
