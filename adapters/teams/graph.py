"""A thin Microsoft Graph client for incident channels; never imports `bot`.

Only what incidents need: create a channel in a team, find one by name, add a member to a
private one. The base URL comes from `GRAPH_API_URL` (a sovereign cloud has its own Graph, and
tests point it at a stand-in); the app-only token, for that Graph, comes from the same Entra
identity as the bot's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from microsoft_agents.hosting.core import AccessTokenProviderBase

DISPLAY_NAME_LIMIT = 50


class GraphForbidden(Exception):
    """Graph refused for want of permission (401 or 403)."""


class NameTaken(Exception):
    """A channel of that name exists in the team."""


@dataclass
class GraphClient:
    base_url: str
    tokens: AccessTokenProviderBase

    async def create_channel(
        self, team: str, name: str, description: str, private: bool, owner: str | None
    ) -> str:
        body: dict[str, Any] = {
            "displayName": name[:DISPLAY_NAME_LIMIT],
            "description": description[:1024],
            "membershipType": "private" if private else "standard",
        }
        if private and owner:
            # Graph makes a private channel with application permissions only with an owner.
            body["members"] = [self._member(owner, owner=True)]
        created = await self._call("POST", f"teams/{team}/channels", body)
        return str(created["id"])

    async def find_channel(self, team: str, name: str) -> str | None:
        wanted = name[:DISPLAY_NAME_LIMIT]
        found = await self._call("GET", f"teams/{team}/channels")
        for channel in found.get("value", []):
            if channel.get("displayName") == wanted:
                return str(channel["id"])
        return None

    async def add_member(self, team: str, channel: str, user: str) -> None:
        await self._call("POST", f"teams/{team}/channels/{channel}/members", self._member(user))

    @property
    def resource(self) -> str:
        """The Graph the base URL is in, `https://graph.microsoft.us` for instance."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def _member(self, user: str, owner: bool = False) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": ["owner"] if owner else [],
            "user@odata.bind": f"{self.base_url.rstrip('/')}/users('{user}')",
        }

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        token = await self.tokens.get_access_token(self.resource, [f"{self.resource}/.default"])
        url = self.base_url.rstrip("/") + "/" + path
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.request(method, url, json=body, headers=headers) as response,
        ):
            if response.status in (401, 403):
                raise GraphForbidden(
                    f"Microsoft Graph answered {response.status} to {method} {path}"
                )
            if response.status == 409:
                raise NameTaken(path)
            response.raise_for_status()
            payload = await response.json(content_type=None)
        return payload if isinstance(payload, dict) else {}
