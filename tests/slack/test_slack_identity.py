"""Slack accounts to people: policy ids, emails, and accounts that may never count."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from adapters.port import ServiceUnavailable
from adapters.slack.chat import lookup_client, make_client
from adapters.slack.identity import SlackIdentity
from tests.harness import build_policy
from tests.slack_standin import SlackStandIn

POLICY = build_policy()


@pytest.fixture
async def identity() -> AsyncIterator[tuple[SlackStandIn, SlackIdentity]]:
    standin = SlackStandIn(
        profiles={
            "U9JAE": {"profile": {"email": "JAE@acme.example"}},
            "U9GUEST": {"is_restricted": True, "profile": {"email": "jae@acme.example"}},
            "U9BOT": {"is_bot": True, "profile": {"email": "mina@acme.example"}},
            "U9GONE": {"deleted": True, "profile": {"email": "lee@acme.example"}},
            "U9NEW": {"profile": {"email": "new@acme.example"}},
        }
    )
    async with TestServer(standin.app()) as server:
        client = lookup_client(make_client("xoxb-test", str(server.make_url("/api/"))))
        yield standin, SlackIdentity(client, lambda: POLICY, team_id="T0ACME")


async def test_the_policy_id_decides_without_a_lookup(
    identity: tuple[SlackStandIn, SlackIdentity],
) -> None:
    standin, slack = identity
    assert (await slack.actor("U0MINA", "T0ACME")).person == "mina"
    assert standin.called("users.info") == []


async def test_an_email_finds_the_person_once(identity: tuple[SlackStandIn, SlackIdentity]) -> None:
    standin, slack = identity
    assert (await slack.actor("U9JAE", "T0ACME")).person == "jae"
    assert (await slack.actor("U9JAE", "T0ACME")).person == "jae"
    assert len(standin.called("users.info")) == 1


@pytest.mark.parametrize("user", ["U9GUEST", "U9BOT", "U9GONE", "U9NEW", "U9MISSING"])
async def test_accounts_that_never_count(
    identity: tuple[SlackStandIn, SlackIdentity], user: str
) -> None:
    _, slack = identity
    actor = await slack.actor(user, "T0ACME")
    assert actor.person is None and actor.platform_user_id == user


async def test_an_account_of_another_workspace_is_an_outsider_whatever_its_email(
    identity: tuple[SlackStandIn, SlackIdentity],
) -> None:
    standin, slack = identity
    for team in ("T0OTHER", None):
        assert (await slack.actor("U9JAE", team)).person is None
        assert await slack.outsider("U9JAE", team)
    assert standin.called("users.info") == []  # an email proves nothing across organisations
    assert not await slack.outsider("U9JAE", "T0ACME")


async def test_a_connected_organisation_s_account_counts_only_when_the_policy_names_its_id(
    identity: tuple[SlackStandIn, SlackIdentity],
) -> None:
    _, slack = identity
    assert (await slack.actor("U0MINA", "T0PARTNER")).person == "mina"
    assert not await slack.outsider("U0MINA", "T0PARTNER")


async def test_the_installation_s_workspace_is_learned_from_slack_and_unknown_fails_closed(
    identity: tuple[SlackStandIn, SlackIdentity],
) -> None:
    standin, known = identity
    slack = SlackIdentity(known.client, lambda: POLICY)
    standin.team_id = "T0HOME"
    for _ in range(2):
        standin.script("auth.test", 200, {"ok": False, "error": "fatal_error"})
    assert await slack.learn_team() is None
    with pytest.raises(ServiceUnavailable):
        await slack.outsider("U9JAE", "T0HOME")  # neither let in nor turned away
    assert not await slack.outsider("U9JAE", "T0HOME")  # asked again, and Slack answered
    assert await slack.outsider("U9JAE", "T0ACME")
    assert len(standin.called("auth.test")) == 3


async def test_a_rate_limited_lookup_is_retried_and_a_failed_one_not_cached(
    identity: tuple[SlackStandIn, SlackIdentity],
) -> None:
    standin, slack = identity
    standin.script("users.info", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
    assert (await slack.actor("U9JAE", "T0ACME")).person == "jae"
    assert len(standin.called("users.info")) == 2

    standin.script("users.info", 200, {"ok": False, "error": "fatal_error"})
    assert (await slack.actor("U9NEW", "T0ACME")).person is None
    standin.profiles["U9NEW"] = {"profile": {"email": "soo@acme.example"}}
    assert (await slack.actor("U9NEW", "T0ACME")).person == "soo"
