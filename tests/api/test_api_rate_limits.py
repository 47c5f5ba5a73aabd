"""Per-client rate limits on opening requests (RATE-01, RATE-02), and `signoff policy check` on
the `clients:` fields that set them and that trust ID tokens (RATE-03)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.platforms.api_limits import ClientBuckets
from tests.api.oidc_world import OIDC_POLICY, oidc_world
from tests.api_process import body
from tests.serve_process import signoff
from workflows.policy_load import PolicyError, load_policy

PROBLEM = "/api/v1/problems/"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_02_a_bucket_lets_a_burst_through_then_one_per_interval() -> None:
    clock = Clock()
    buckets = ClientBuckets(clock)
    assert [buckets.take("busy", 3) for _ in range(3)] == [None, None, None]
    assert buckets.take("busy", 3) == 20  # 3 a minute: one every 20 seconds
    clock.now += 15
    assert buckets.take("busy", 3) == 5  # refused calls take nothing
    clock.now += 5
    assert buckets.take("busy", 3) is None
    assert buckets.take("busy", 3) == 20
    # Another client has its own bucket.
    assert buckets.take("calm", 3) is None
    # An hour idle fills the bucket to the limit, not beyond it.
    clock.now += 3600
    assert [buckets.take("busy", 3) for _ in range(4)] == [None, None, None, 20]
    # A policy reload that lowers the limit holds at once.
    clock.now += 3600
    assert buckets.take("calm", 1) is None and buckets.take("calm", 1) == 60


async def test_serve_rate_01_past_its_limit_a_client_gets_429_with_retry_after_and_others_do_not(
    tmp_path: Path,
) -> None:
    async with oidc_world(tmp_path) as world:
        busy = world.client(world.token("busy-agent"))
        calm = world.client(world.token("calm-agent"))
        counted = 'signoff_inbound_refused_total{kind="rate-limited",platform="api",status="429"}'
        opened = [await busy.open(body(version=f"2.1.{n}")) for n in range(3)]
        assert [a.status for a in opened] == [201, 201, 201], [a.json for a in opened]
        limited = await busy.open(body(version="2.1.9"))
        assert limited.status == 429, limited.json
        assert limited.json["type"] == PROBLEM + "rate-limited"
        assert limited.headers["Content-Type"].startswith("application/problem+json")
        assert 1 <= int(limited.headers["Retry-After"]) <= 20
        assert "3 requests a minute" in limited.json["detail"]
        assert await world.api.metric(counted) == 1
        # Nothing was opened by the refused call; reading is not limited.
        listed = await busy.call("GET", "/api/v1/requests")
        assert len(listed.json["items"]) == 3
        assert (await busy.call("GET", "/api/v1/whoami")).status == 200
        # Another client of the same server is unaffected.
        assert (await calm.open(body(version="2.1.9"))).status == 201


def test_rate_03_policy_check_names_the_line_of_a_misspelled_client_field(tmp_path: Path) -> None:
    text = OIDC_POLICY.read_text()
    text = text.replace("requests_per_minute: 3", "requests_per_minit: 3")
    text = text.replace("environments: [production], refs", "enviroments: [production], refs")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    checked = signoff(tmp_path, "policy", "check", str(policy))
    assert checked.returncode == 1
    lines = text.splitlines()
    github = next(n for n, line in enumerate(lines, 1) if "enviroments:" in line)
    rate = next(n for n, line in enumerate(lines, 1) if "requests_per_minit" in line)
    assert checked.stdout.splitlines()[:2] == [
        f"{policy}:{github}: clients.support-gate.github.enviroments: unknown field 'enviroments'",
        f"{policy}:{rate}: clients.busy-agent.requests_per_minit: unknown field "
        "'requests_per_minit'",
    ]


@pytest.mark.parametrize("limit", ["0", "-1", "lots", "100001"])
def test_rate_03_a_limit_that_is_not_a_sensible_number_is_refused_with_its_line(
    limit: str,
) -> None:
    text = OIDC_POLICY.read_text().replace("minute: 3", f"minute: {limit}")
    with pytest.raises(PolicyError) as refused:
        load_policy(text, "policy.yaml")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "requests_per_minute" in row)
    [problem] = [str(p) for p in refused.value.problems]
    assert problem.startswith(f"policy.yaml:{line}: clients.busy-agent.requests_per_minute: ")
