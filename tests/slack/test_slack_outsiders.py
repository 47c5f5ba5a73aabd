"""Accounts of another Slack workspace over signed HTTP (AUTHZ-18).

The signature proves the request came from Slack for this app, not from the workspace it is
installed in: a Slack Connect partner, or another organisation that installed the same app,
sends validly signed requests too. The installation's workspace is learned from `auth.test`;
an account of any other one is refused, audited and told so, whatever its email says, unless
the policy names its Slack id.
"""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.harness import build_policy
from tests.slack_standin import SlackStandIn
from tests.slack_world import SlackWorld, slack_world
from workflows.ledger import LedgerEntry
from workflows.model import Status

# An account of another organisation whose email is a policy person's.
IMPOSTOR, ELSEWHERE = "U9MINA", "T0OTHER"
SOO = {"email": "soo@acme.example"}


def with_impostor(world: SlackWorld) -> None:
    world.standin.profiles[IMPOSTOR] = {"profile": {"email": "mina@acme.example"}}


def refusals(ledger: list[LedgerEntry]) -> list[LedgerEntry]:
    return [e for e in ledger if e.data.get("reason") == "outside-organisation"]


async def test_a_command_from_another_workspace_is_refused_and_audited(world: SlackWorld) -> None:
    with_impostor(world)
    for text in ("deploy doc-search 1.0", "status", "help"):
        answer = await world.command(IMPOSTOR, text, team=ELSEWHERE)
        assert "your account belongs to another one, so nothing was done" in answer
    ledger = await world.h.ledger()
    assert [e.action for e in ledger] == ["denied"] * 3
    denied = ledger[0]
    assert (denied.subject_type, denied.subject_id) == ("slack-workspace", ELSEWHERE)
    assert denied.actor_person is None and denied.actor_platform_user_id == IMPOSTOR
    assert denied.data["attempted"] == "slash-command"
    assert world.standin.called("users.info") == []  # its email was never even looked up
    assert world.standin.called("auth.test")  # the home workspace came from Slack
    assert await world.h.chain_ok()


async def test_a_click_from_another_workspace_is_refused_where_only_its_presser_sees_it(
    world: SlackWorld,
) -> None:
    with_impostor(world)
    opened = await world.command("U0SOO", "deploy doc-search 1.0")
    request_id = opened.split()[1]
    await world.h.settle()
    card = world.card_for("D0MINA")
    assert await world.click(IMPOSTOR, card, "approve", team=ELSEWHERE) == 200
    assert (await world.h.state(request_id)).status is Status.PENDING
    told = world.standin.called("chat.postEphemeral")[-1]
    assert told.args["user"] == IMPOSTOR and "another one" in told.args["text"]
    (denied,) = refusals(await world.h.ledger())
    assert (denied.subject_type, denied.subject_id) == ("request", request_id)
    assert denied.data["attempted"] == "button"
    # The real Mina, in the home workspace, still decides.
    assert await world.click("U0MINA", card, "approve") == 200
    assert (await world.h.state(request_id)).status is Status.APPROVED


async def test_a_form_from_another_workspace_is_refused_in_the_form(world: SlackWorld) -> None:
    with_impostor(world)
    opened = await world.command("U0SOO", "deploy support-bot 1.0")
    request_id = opened.split()[1]
    await world.h.settle()
    assert await world.click("U0JAE", world.card_for("D0JAE"), "reject") == 200
    # The form's own submission, sent by someone of another workspace.
    stolen = world.standin.reason_submission(IMPOSTOR, "x", team=ELSEWHERE)
    response = await world.post(stolen)
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "update"
    assert "another one" in json.dumps(answer["view"])
    assert (await world.h.state(request_id)).status is Status.PENDING
    (denied,) = refusals(await world.h.ledger())
    assert (denied.subject_id, denied.data["attempted"]) == (request_id, "form")


async def test_a_connected_organisation_s_person_counts_only_when_the_policy_names_their_id(
    world: SlackWorld,
) -> None:
    def partner_dan(raw: dict[str, dict[str, dict[str, str]]]) -> None:
        raw["people"]["dan"]["slack"] = "U7DAN"

    world.h.policies.replace(build_policy(partner_dan))
    world.standin.profiles["U7SOO"] = {"profile": SOO}
    await world.command("U0SOO", "deploy credit-scoring 2.0")
    assert "your view as Consulted" in await world.command("U7DAN", "status", team="T0PARTNER")
    refused = await world.command("U7SOO", "deploy credit-scoring 2.1", team="T0PARTNER")
    assert "another one" in refused
    assert [e.actor_platform_user_id for e in refusals(await world.h.ledger())] == ["U7SOO"]


async def test_the_home_workspace_is_the_one_auth_test_names(engine: AsyncEngine) -> None:
    standin = SlackStandIn(team_id="T0HOME", profiles={"U9SOO": {"profile": SOO}})
    async with slack_world(engine, standin) as world:
        assert "another one" in await world.command("U9SOO", "status", team="T0ACME")
        assert await world.command("U9SOO", "status", team="T0HOME") == "Nothing waits on you."
