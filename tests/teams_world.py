"""The Teams world of the HTTP tests: our app on `/api/messages`, Microsoft's stand-ins behind.

A pytest plugin (see `conftest.py`): the `teams` fixture, and helpers that act as Teams
would, every request carrying a real RS256 token from the local key server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from microsoft_agents.hosting.core import AgentAuthConfiguration
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort
from adapters.slack.chat import SlackChat
from adapters.slack.signing import SigningSecrets
from adapters.teams.connections import BOT_FRAMEWORK_SCOPE
from adapters.teams.entra import AppOnlyTokens, EntraTokens
from bot.platforms.slack import add_slack_events
from bot.platforms.teams import TeamsConfig, add_teams_messages, teams_port
from tests.entra_standin import SECRET as ENTRA_SECRET
from tests.entra_standin import EntraStandIn, serve_over_https
from tests.harness import Clock, Harness, Policies, build_policy
from tests.slack_world import SECRET
from tests.teams_standin import (
    APP_ID,
    ISSUER,
    TENANT,
    BotConnector,
    Call,
    GraphStandIn,
    KeyServer,
    Tokens,
)

BOT_TOKEN = "bot-token-from-msal"

# Entra object ids of the people of the test policy.
AAD = {
    person: f"00000000-0000-4000-8000-{index:012d}"
    for index, person in enumerate(("mina", "jae", "lee", "soo", "dan", "ines", "cdao", "out"), 1)
}
GOV_CHANNEL = "19:gov@thread.tacv2"
INCIDENT_TEAM = "team-incidents"


@dataclass(frozen=True)
class Cloud:
    """Where the bot's tokens are for and whose tokens it accepts: the public cloud's, or
    another's served by the same stand-ins."""

    issuer: str = ISSUER
    bot_scope: str = BOT_FRAMEWORK_SCOPE


PUBLIC = Cloud()
GOVERNMENT = Cloud("https://api.botframework.us", "https://api.botframework.us/.default")


def teams_policy(raw: dict[str, Any]) -> None:
    """The test policy with everyone on Teams only, found by their Entra object ids."""
    for person, entry in raw["people"].items():
        entry.pop("slack", None)
        entry["teams"] = AAD[person]
    raw["channels"]["ai-governance"] = {"teams": GOV_CHANNEL}
    raw["incidents"] = {"teams_team_id": INCIDENT_TEAM}


class LocalTokens(AppOnlyTokens):
    """The bot's outbound token, as MSAL would hand it over, without a round trip to Entra."""

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return AgentAuthConfiguration(client_id=APP_ID, tenant_id=TENANT)

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        return BOT_TOKEN

    def get_token_credential(self) -> Any:
        raise NotImplementedError("no Azure SDK client is used with the local token")


@dataclass
class TeamsWorld:
    h: Harness
    keys: KeyServer
    tokens: Tokens
    connector: BotConnector
    service_url: str
    client: TestClient[web.Request, web.Application]
    graph: GraphStandIn

    def personal(self, person: str) -> str:
        return f"a:personal-{person}"

    def activity(
        self, person: str, kind: str = "message", conversation: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "id": f"f:{uuid.uuid4().hex}",
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "from": {"id": f"29:{person}", "aadObjectId": AAD.get(person, person), "name": person},
            "recipient": {"id": f"28:{APP_ID}", "name": "Signoff"},
            "conversation": {
                "id": conversation or self.personal(person),
                "conversationType": "personal" if conversation is None else "channel",
                "tenantId": TENANT,
            },
            "channelData": {"tenant": {"id": TENANT}},
            **fields,
        }

    async def send(
        self, activity: dict[str, Any], token: str | None = None, raw: bytes | None = None
    ) -> ClientResponse:
        if token is None:
            token = self.tokens.make(self.service_url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if raw is not None:
            return await self.client.post("/api/messages", data=raw, headers=headers)
        return await self.client.post("/api/messages", json=activity, headers=headers)

    async def nothing_happened(self) -> None:
        """No call to Microsoft, nothing in the ledger."""
        assert self.connector.calls == []
        assert await self.h.ledger() == []

    async def refused(self, token: str, status: int = 401, **changes: object) -> None:
        """Soo's request, with `changes` to the activity, under `token`: refused, no trace."""
        activity = self.activity("soo", text="deploy doc-search 4.0") | changes
        response = await self.send(activity, token=token)
        assert response.status == status, await response.text()
        await self.nothing_happened()

    async def say(self, person: str, text: str) -> list[str]:
        """Send a message as `person` in their personal chat; the replies Signoff wrote."""
        before = len(self.connector.replies(self.personal(person)))
        response = await self.send(self.activity(person, text=text))
        assert response.status in (200, 201, 202), await response.text()
        return self.connector.replies(self.personal(person))[before:]

    def card_in(self, conversation: str) -> Call:
        return self.connector.cards(conversation)[-1]

    def chat_of(self, person: str) -> str:
        """The personal chat Signoff opened with `person`, or the one they wrote from."""
        opened = f"a:chat-{AAD[person]}"
        if any(c.body["members"][0]["id"] == AAD[person] for c in self.connector.created()):
            return opened
        return self.personal(person)

    def invoke(
        self, person: str, card: Call, verb: str, comment: str | None = None
    ) -> dict[str, Any]:
        """The `adaptiveCard/action` invoke Teams sends when `person` presses `verb` on `card`."""
        content = card.body["attachments"][0]["content"]
        data = dict(_find_data(content, verb))
        if comment is not None:
            data["comment"] = comment
        conversation = card.path.split("/")[3]
        invoke = self.activity(
            person,
            kind="invoke",
            conversation=conversation,
            name="adaptiveCard/action",
            value={"action": {"type": "Action.Execute", "verb": verb, "data": data}},
            replyToId=self.activity_id_of(card),
        )
        if conversation.startswith("a:"):
            invoke["conversation"]["conversationType"] = "personal"
        return invoke

    def activity_id_of(self, card: Call) -> str:
        assert card.answered_id is not None
        return card.answered_id

    async def press(
        self, person: str, card: Call, verb: str, comment: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        response = await self.send(self.invoke(person, card, verb, comment))
        return response.status, await response.json()


def _find_data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    """The `data` of the action with `verb`, also inside a ShowCard, or of the refresh."""
    if card.get("refresh", {}).get("action", {}).get("verb") == verb:
        return dict(card["refresh"]["action"]["data"])
    for action in card.get("actions", []):
        if action.get("verb") == verb:
            return dict(action["data"])
        if action.get("type") == "Action.ShowCard":
            found = _find_data(action["card"], verb)
            if found:
                return found
    return {}


@contextlib.asynccontextmanager
async def open_teams_world(
    engine: AsyncEngine,
    change: Callable[[dict[str, Any]], None] = teams_policy,
    slack: tuple[SlackChat, AsyncWebClient] | None = None,
    cloud: Cloud = PUBLIC,
    bot_tokens: AppOnlyTokens | None = None,
) -> AsyncIterator[TeamsWorld]:
    """The Teams world; with `slack`, Slack's route and port beside it on the same app.

    `bot_tokens` is where the bot's own tokens come from: by default a fixed one, as if
    MSAL had it cached; the Entra ID stand-in's through MSAL when a test needs it to fail.
    """
    keys = KeyServer(issuer=cloud.issuer)
    keys.add("key-1")
    connector = BotConnector()
    connector.emails = {f"29:{p}": f"{p}@acme.example" for p in AAD}
    connector.mris = {AAD[p]: f"29:{p}" for p in AAD}
    graph = GraphStandIn()
    async with (
        TestServer(keys.app()) as key_server,
        TestServer(connector.app()) as bot_api,
        TestServer(graph.app()) as graph_api,
    ):
        keys.base_url = str(key_server.make_url("")).rstrip("/")
        service_url = str(bot_api.make_url("/"))
        policies, clock = Policies.of(build_policy(change)), Clock()
        config = TeamsConfig(
            APP_ID,
            TENANT,
            f"{keys.base_url}/openid",
            bot_tokens or LocalTokens(),
            str(graph_api.make_url("/v1.0/")),
            cloud.bot_scope,
        )
        chat = teams_port(config, clock, lambda: policies.current.policy)(engine)
        # With Slack beside it, the real Slack port takes the place of the harness's fake.
        more: dict[str, ChatPort] = (
            {"teams": chat} if slack is None else {"slack": slack[0], "teams": chat}
        )
        h = Harness(engine, policies=policies, clock=clock, more_ports=more)
        app = web.Application()
        add_teams_messages(app, config, h.runtime(), h.clock)
        if slack is not None:
            add_slack_events(app, SigningSecrets(SECRET.encode()), slack[1], h.runtime(), "T0ACME")
        async with TestClient(TestServer(app)) as client:
            yield TeamsWorld(h, keys, Tokens(keys), connector, service_url, client, graph)


@pytest.fixture
async def teams(engine: AsyncEngine) -> AsyncIterator[TeamsWorld]:
    async with open_teams_world(engine) as world:
        yield world


@pytest.fixture
async def entra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EntraStandIn]:
    """The Entra ID stand-in over HTTPS, its certificate authority trusted by MSAL's HTTP."""
    standin = EntraStandIn()
    async with serve_over_https(standin, tmp_path) as authority:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority))
        yield standin


def entra_tokens(entra: EntraStandIn) -> EntraTokens:
    """The bot's tokens through MSAL from the stand-in, waiting at most a second for one."""
    return EntraTokens(APP_ID, TENANT, ENTRA_SECRET, entra.base_url, timeout=1.0)
