"""`signoff mcp`'s tools: an agent asks people for approval and waits, and can never decide.

A stdio MCP server on the official SDK (FastMCP) calling API v1 over HTTP with the agent's
client token. Exactly six tools; none approves, rejects or changes the policy, and none
blocks for more than 50 seconds, since MCP clients give up on a call after about a minute.
Every refusal or silence of Signoff is a tool error the model reads, never a crash. Imports
the MCP SDK, pydantic, the standard library and `bot.agents`; nothing of the server.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server.fastmcp import Context, FastMCP
from mcp.types import CallToolResult, TextContent
from pydantic import Field

from bot.agents import asking, telling
from bot.agents.asking import Agent
from bot.agents.descriptions import ANNOTATIONS, DESCRIPTIONS, INSTRUCTIONS, NEVER
from bot.client.wire import Api, Refused, Unreachable, View

MAX_WAIT = 50  # seconds one wait_for_decision may take at most


Status = Literal["pending", "approved", "rejected", "expired", "cancelled"]
RequestId = Annotated[str, Field(description="the request_id request_approval returned")]


def _answer(told: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=asking.json_text(told))], structuredContent=told
    )


def _error(told: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=asking.json_text(told))],
        structuredContent=told,
        isError=True,
    )


class Tools:
    """The six tools over one API v1 connection; each runs its HTTP calls off the event loop."""

    def __init__(
        self, api: Api, on_behalf_of: str | None, session: str | None, limit: float = MAX_WAIT
    ) -> None:
        self.api, self.on_behalf_of, self.session = api, on_behalf_of, session
        self.limit = limit

    async def _told(self, work: Callable[[], dict[str, Any]]) -> CallToolResult:
        """`work` off the event loop, its refusals as tool errors; a Signoff that hangs is
        left behind at the limit, so no call outlasts it whatever the network does."""
        try:
            with anyio.fail_after(self.limit):
                return _answer(await anyio.to_thread.run_sync(work, abandon_on_cancel=True))
        except (Refused, Unreachable) as error:
            return _error(telling.refusal(error))
        except TimeoutError:
            late = Unreachable(f"no answer within {self.limit:.0f} seconds")
            return _error(telling.refusal(late))

    def _agent(self, ctx: Context[Any, Any, Any] | None) -> Agent:
        params = ctx.session.client_params if ctx is not None else None
        name = params.clientInfo.name if params is not None else "mcp-client"
        return Agent(name or "mcp-client", self.session, self.on_behalf_of)

    async def request_approval(
        self,
        system: Annotated[str, Field(description="the AI system, as Signoff's policy names it")],
        activity: Annotated[
            str, Field(description="the approval activity, such as deploy or refund")
        ],
        summary: Annotated[
            str,
            Field(
                min_length=1,
                max_length=200,
                description="one line saying exactly what you want to do, for the approvers",
            ),
        ],
        reason: Annotated[
            str, Field(max_length=1500, description="why it is needed, for the approvers")
        ],
        details: Annotated[
            dict[str, Any] | None,
            Field(
                description="the exact arguments of the tool call you want to make. Approvers "
                "see them with secrets masked; Signoff keeps only their digest and that preview."
            ),
        ] = None,
        idempotency_key: Annotated[
            str | None,
            Field(
                max_length=200,
                description="the same key with the same arguments finds the same request "
                "instead of asking twice; omit it and each call asks afresh",
            ),
        ] = None,
        tool: Annotated[
            str | None, Field(max_length=200, description="the name of the tool you want to call")
        ] = None,
        version: Annotated[
            str | None,
            Field(max_length=200, description="the version to approve; needed for deploy"),
        ] = None,
        environment: Annotated[
            str | None, Field(max_length=100, description="where it goes, such as production")
        ] = None,
        ctx: Context[Any, Any, Any] | None = None,
    ) -> CallToolResult:
        agent = self._agent(ctx)
        sent = asking.body(
            agent, system, activity, summary, reason, details, tool, version, environment
        )
        key = idempotency_key or asking.new_key()

        def ask() -> dict[str, Any]:
            view, _, opened = asking.open_request(self.api, sent, key)
            try:
                about: View | None = asking.system(self.api, view["system"])
            except (Refused, Unreachable):
                about = None  # who holds the role is a courtesy; the request stands without it
            told = telling.short(view, self.api.url)
            told["opened_now"] = opened
            told["asked"] = telling.asked(view, about)
            told["idempotency_key"] = key
            return told

        return await self._told(ask)

    async def wait_for_decision(
        self,
        request_id: RequestId,
        max_wait_seconds: Annotated[
            int,
            Field(
                description="how long to wait for people, in seconds; at most 50 (more is "
                "taken as 50)"
            ),
        ] = MAX_WAIT,
    ) -> CallToolResult:
        bound = max(0, min(MAX_WAIT, max_wait_seconds))

        def wait() -> dict[str, Any]:
            deadline = time.monotonic() + bound
            view, tag = asking.get(self.api, request_id)
            while view["status"] == "pending":
                # A few seconds are kept for the answer itself, so the call ends in time.
                seconds = int(min(asking.LONG_POLL, deadline - time.monotonic() - 2))
                if seconds < 1:
                    break
                view, tag = asking.poll(self.api, view, tag, seconds)
            return telling.short(view, self.api.url)

        return await self._told(wait)

    async def get_request(self, request_id: RequestId) -> CallToolResult:
        def read() -> dict[str, Any]:
            view, _ = asking.get(self.api, request_id)
            return {**telling.short(view, self.api.url), "request": view}

        return await self._told(read)

    async def cancel_request(
        self,
        request_id: RequestId,
        reason: Annotated[
            str, Field(min_length=1, max_length=2000, description="why, for the approvers")
        ],
    ) -> CallToolResult:
        def withdraw() -> dict[str, Any]:
            return telling.short(asking.cancel(self.api, request_id, reason), self.api.url)

        return await self._told(withdraw)

    async def list_my_requests(
        self,
        status: Annotated[
            Status | None, Field(description="only requests in this status; omit for all")
        ] = None,
    ) -> CallToolResult:
        def page() -> dict[str, Any]:
            found = asking.listed(self.api, status)
            items = [telling.short(view, self.api.url) for view in found.get("items", [])]
            return {"requests": items, "more": found.get("next_cursor") is not None}

        return await self._told(page)

    async def describe_system(
        self,
        system: Annotated[str, Field(description="the AI system, as Signoff's policy names it")],
        activity: Annotated[
            str | None, Field(description="the activity you mean to ask for, if any")
        ] = None,
    ) -> CallToolResult:
        return await self._told(functools.partial(self._describe, system, activity))

    def _describe(self, system_id: str, activity: str | None) -> dict[str, Any]:
        about = asking.system(self.api, system_id)
        may = asking.whoami(self.api).get("may_request", {}).get(system_id, [])
        told: dict[str, Any] = {
            "system": about["id"],
            "name": about.get("name"),
            "tier": about.get("tier"),
            "activities": about.get("activities", []),
            "who_decides": about.get("accountable", {}),
            "this_agent_may_ask_for": may,
            "frozen_by_incident": about.get("frozen_by"),
            "next_review": about.get("next_review"),
        }
        if activity is not None:
            known = activity in told["activities"]
            told["approval_needed"] = known
            told["this_agent_may_ask"] = activity in may
            told["note"] = (
                f"{activity} needs the approval of {told['who_decides'].get(activity)}: ask "
                "with request_approval before doing it." + NEVER
                if known
                else f"{system_id} has no approval activity {activity}; Signoff would refuse it."
            )
        return told


def build_server(api: Api, on_behalf_of: str | None, session: str | None) -> FastMCP[Any]:
    """The MCP server with exactly the six tools, none of which can decide."""
    server: FastMCP[Any] = FastMCP("signoff", instructions=INSTRUCTIONS, log_level="WARNING")
    tools = Tools(api, on_behalf_of, session)
    for name, about in DESCRIPTIONS.items():
        server.tool(name=name, description=about, annotations=ANNOTATIONS[name])(
            getattr(tools, name)
        )
    return server
