"""Incident rooms in Teams: a channel in the policy's incident team, made through Graph.

Never imports `bot`. Bots cannot make channels through the Bot Connector, so the channel is
made through Microsoft Graph and the first message posted by the bot. When Graph refuses for
want of permission, there is no room: the incident's facts go to the Informed channels with a
plain word on what to grant, and invitations are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from adapters.port import (
    Destination,
    MessageRef,
    OutgoingMessage,
    PermanentFailure,
    RoomSpec,
)
from adapters.teams.graph import GraphClient, GraphForbidden, NameTaken

log = logging.getLogger("signoff.teams")

MISSING_PERMISSION = (
    "Signoff could not make a Teams channel for this incident ({why}). An administrator can "
    "grant the app the Graph permissions Channel.Create and ChannelMember.ReadWrite.All (or "
    "Channel.Create.Group and ChannelMember.ReadWrite.Group for this team)."
)

Post = Callable[[Destination, OutgoingMessage], Awaitable[MessageRef]]


@dataclass
class TeamsRooms:
    graph: GraphClient
    team: Callable[[], str | None]
    tenant_id: str
    post: Post
    user_of: Callable[[Destination], Awaitable[str]]

    async def open_room(self, spec: RoomSpec) -> MessageRef:
        team = self.team()
        if not team:
            raise PermanentFailure("the policy names no incidents.teams_team_id")
        try:
            owner = await self.user_of(spec.owner) if spec.private and spec.owner else None
            try:
                channel = await self.graph.create_channel(
                    team, spec.name, spec.topic, spec.private, owner
                )
            except NameTaken:
                found = await self.graph.find_channel(team, spec.name)
                if found is None:
                    raise PermanentFailure(f"{spec.name} exists but cannot be found") from None
                channel = found
        except GraphForbidden as refused:
            log.warning("incident room %s not made in Teams: %s", spec.name, refused)
            return {"fallback": str(refused), "facts": spec.first_message}
        await self.post(_channel(spec.name, channel), OutgoingMessage(text=spec.first_message))
        return {"team": team, "channel": channel, "name": spec.name, "private": str(spec.private)}

    async def invite(self, room: MessageRef, to: Destination) -> None:
        # Everyone in the team sees a standard channel; only a private one has members.
        if "fallback" in room or room.get("private") != "True":
            return
        try:
            await self.graph.add_member(room["team"], room["channel"], await self.user_of(to))
        except NameTaken:
            return  # already a member
        except GraphForbidden as refused:
            raise PermanentFailure(str(refused)) from None

    async def post_in_room(self, room: MessageRef, text: str) -> None:
        if "fallback" in room:
            return  # there is no room; the Informed channels get the same text
        await self.post(_channel(room["name"], room["channel"]), OutgoingMessage(text=text))

    async def announce_room(self, to: Destination, text: str, room: MessageRef) -> MessageRef:
        if "fallback" in room:
            why = MISSING_PERMISSION.format(why=room["fallback"])
            return await self.post(to, OutgoingMessage(text=f"{text}\n{room['facts']}\n{why}"))
        link = (
            f"https://teams.microsoft.com/l/channel/{quote(room['channel'], safe='')}/"
            f"{quote(room['name'], safe='')}?groupId={room['team']}&tenantId={self.tenant_id}"
        )
        return await self.post(to, OutgoingMessage(text=f"{text}\nJoin: {link}"))


def _channel(name: str, channel: str) -> Destination:
    return Destination("channel", name, channel)
