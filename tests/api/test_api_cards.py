"""What approvers see of a machine's request, in Slack and in Teams: the artifact it binds, the
CI run, and the agent that asks (its name, for whom, the tool, its masked arguments). A secret
in the agent's preview never reaches a chat message, the ledger or the database; the decision's
ledger entry names the approved digest, and so does the view the client reads.

API v1 is mounted on the same runtime as the chat platform, and every call is HTTP: the
client's to the API, Signoff's to the Slack and Bot Connector stand-ins, the clicks back.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms.api import api_mount
from bot.services.api_oidc import NO_ID_TOKENS, Issuers
from bot.services.api_tokens import TokenService
from bot.storage.tables import metadata
from tests.harness import Harness, build_policy
from tests.slack_standin import SlackStandIn
from tests.slack_world import slack_world
from tests.teams_world import open_teams_world, teams_policy

DIGEST = "sha256:" + "9f2c" * 16
ARGUMENTS = "sha256:" + "0d1e" * 16
GITHUB_TOKEN = "ghp_" + "Q7x" * 12
PASSWORD = "correct-horse-battery-staple"
SECRETS = (GITHUB_TOKEN, PASSWORD)
PREVIEW = (
    f'refund(order="A-1001", amount=120, api_key="{PASSWORD}", '
    f'note="retry with {GITHUB_TOKEN} if refused")'
)


def with_client(raw: dict[str, Any]) -> None:
    raw["clients"] = {"support-agent": {"token": True, "may_request": {"doc-search": ["deploy"]}}}


def agent_body() -> dict[str, Any]:
    return {
        "system": "doc-search",
        "version": "4.0.1",
        "environment": "prod",
        "reason": "refund policy update",
        "artifact": {"digest": DIGEST, "uri": f"oci://registry.acme.example/docs@{DIGEST}"},
        "context": {
            "ci": {
                "provider": "github",
                "repository": "acme/doc-search",
                "run_id": "123",
                "run_url": "https://github.com/acme/doc-search/actions/runs/123",
            },
            "agent": {
                "name": "refund-bot",
                "session": "s-42",
                "tool": "issue_refund",
                "arguments_digest": ARGUMENTS,
                "preview": PREVIEW,
            },
        },
        "on_behalf_of": "soo",
    }


@contextlib.asynccontextmanager
async def api_beside(
    h: Harness, issuers: Issuers = NO_ID_TOKENS
) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, str]]]:
    """API v1 on `h`'s runtime, and the headers of support-agent's calls."""
    app = web.Application()
    api_mount(issuers)(app, h.runtime())
    tokens = TokenService(h.uow)
    await tokens.revoke("support-agent")
    token = await tokens.issue("support-agent")
    async with TestClient(TestServer(app)) as client:
        yield client, {"Authorization": f"Bearer {token}", "Idempotency-Key": "run-123"}


async def open_by_api(client: TestClient[Any, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/api/v1/requests", json=agent_body(), headers=headers)
    assert response.status == 201, await response.text()
    opened: dict[str, Any] = await response.json()
    return opened


async def stored_text(engine: AsyncEngine) -> str:
    """Every row of every table, as text: where a secret would be if any part kept it."""
    rows: list[str] = []
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in await conn.execute(select(table))]
    return "\n".join(rows)


async def assert_no_secret_kept(h: Harness, sent: str) -> None:
    """Not in what chat was sent, not in the ledger, not anywhere in the database."""
    ledger = json.dumps([entry.model_dump() for entry in await h.ledger()])
    stored = await stored_text(h.engine)
    for secret in SECRETS:
        assert secret not in sent
        assert secret not in ledger
        assert secret not in stored
    assert "[masked]" in sent and "[masked]" in ledger


def assert_shows_the_machine_that_asks(text: str) -> None:
    assert f"Artifact: {DIGEST}" in text
    assert f"Artifact at: oci://registry.acme.example/docs@{DIGEST}" in text
    assert "Requested by: client support-agent on behalf of Soo Han" in text
    assert "AI agent: refund-bot (session s-42)" in text
    assert "Tool: issue_refund" in text
    assert f"Arguments digest: {ARGUMENTS}" in text
    assert 'order="A-1001", amount=120' in text
    assert "CI run: github: acme/doc-search run 123" in text
    assert "Run link: https://github.com/acme/doc-search/actions/runs/123" in text


async def assert_decision_names_the_digest(
    h: Harness, client: TestClient[Any, Any], headers: dict[str, str], request_id: str
) -> None:
    [decided] = [e for e in await h.ledger() if e.action == "approved"]
    assert decided.subject_id == request_id and decided.data["artifact_digest"] == DIGEST
    [requested] = [e for e in await h.ledger() if e.action == "requested"]
    assert requested.data["artifact"]["digest"] == DIGEST
    assert requested.data["agent"]["arguments_digest"] == ARGUMENTS
    view = await (await client.get(f"/api/v1/requests/{request_id}", headers=headers)).json()
    assert view["status"] == "approved" and view["artifact"]["digest"] == DIGEST
    assert await h.chain_ok()


def slack_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(text for block in blocks for text in _strings(block) if isinstance(text, str))


def _strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


async def test_the_slack_card_shows_the_artifact_and_the_agent_and_keeps_no_secret(
    engine: AsyncEngine,
) -> None:
    standin = SlackStandIn()
    async with slack_world(engine, standin) as world:
        world.h.policies.replace(build_policy(with_client))
        async with api_beside(world.h) as (client, headers):
            request_id = (await open_by_api(client, headers))["id"]
            await world.h.settle()
            card = world.card_for("D0MINA")
            assert_shows_the_machine_that_asks(slack_text(card.args["blocks"]))
            assert await world.click("U0MINA", card, "approve") == 200
            await world.h.settle()
            # The decided card shows them too, and names the digest it was approved for.
            [update] = [u for u in standin.called("chat.update") if u.args["channel"] == "D0MINA"]
            assert f"Artifact: {DIGEST}" in slack_text(update.args["blocks"])
            await assert_decision_names_the_digest(world.h, client, headers, request_id)
            sent = json.dumps([call.args for call in standin.calls])
            await assert_no_secret_kept(world.h, sent)


def teams_with_client(raw: dict[str, Any]) -> None:
    teams_policy(raw)
    with_client(raw)


def teams_text(content: dict[str, Any]) -> str:
    return "\n".join(
        run["text"]
        for block in content["body"]
        if block["type"] == "RichTextBlock"
        for run in block["inlines"]
    )


async def test_the_teams_card_shows_the_artifact_and_the_agent_and_keeps_no_secret(
    engine: AsyncEngine,
) -> None:
    async with open_teams_world(engine, teams_with_client) as teams:
        await teams.say("soo", "help")  # the tenant's service URL is now known
        async with api_beside(teams.h) as (client, headers):
            request_id = (await open_by_api(client, headers))["id"]
            await teams.h.settle()
            card = teams.card_in(teams.chat_of("mina"))
            assert_shows_the_machine_that_asks(teams_text(card.body["attachments"][0]["content"]))
            status, _ = await teams.press("mina", card, "signoff.approve")
            assert status == 200
            await teams.h.settle()
            await assert_decision_names_the_digest(teams.h, client, headers, request_id)
            sent = json.dumps([call.body for call in teams.connector.calls])
            await assert_no_secret_kept(teams.h, sent)


async def test_the_views_links_are_absolute_under_the_public_url_and_relative_without(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    h.policies.replace(build_policy(with_client))
    public = replace(NO_ID_TOKENS, audience="https://signoff.acme.example/")
    async with api_beside(h, public) as (client, headers):
        opened = await open_by_api(client, headers)
        request_id = opened["id"]
        assert opened["links"] == {
            "console": f"https://signoff.acme.example/requests/{request_id}",
            "events": f"https://signoff.acme.example/api/v1/requests/{request_id}/events",
        }
        listed = await (await client.get("/api/v1/requests", headers=headers)).json()
        assert listed["items"][0]["links"] == opened["links"]
    async with api_beside(h) as (client, headers):
        view = await (await client.get(f"/api/v1/requests/{request_id}", headers=headers)).json()
        assert view["links"] == {
            "console": f"/requests/{request_id}",
            "events": f"/api/v1/requests/{request_id}/events",
        }
        # Both relative to this server: the events link is one the client can follow here.
        events = await client.get(view["links"]["events"], headers=headers)
        assert events.status == 200
