"""`require_approval`: agent code without MCP asks Signoff's people and runs only once approved.

A decorator (of plain and async functions) and a context manager (async or not). The
request is opened when the function is called, with the call's arguments as `details`
(sent as a digest and a masked preview only); the function runs after the approval and never
before. Rejected, expired, cancelled, refused or unreachable raise, with who decided and why.
Standard library, `bot.client` and `bot.agents` only: agent code needs none of the server.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from bot.agents import asking
from bot.agents.asking import Agent
from bot.client.wire import Api, Refused, Unreachable, View

P = ParamSpec("P")
R = TypeVar("R")
# How long the helper keeps asking while Signoff does not answer before it gives up (closed).
PATIENCE = 120.0
STOPPED = "the agent stopped waiting"
TIMED_OUT = "the agent's time to wait ran out"


class NotApproved(Exception):
    """The action was not approved, so it did not run. `view` is the request, when one exists."""

    def __init__(self, message: str, view: View | None = None) -> None:
        super().__init__(message)
        self.view = view
        self.request_id: str | None = view["id"] if view else None


class Rejected(NotApproved):
    def __init__(self, view: View, deciders: list[str], reason: str | None) -> None:
        said = f": {reason}" if reason else ""
        super().__init__(f"request {view['id']} rejected by {', '.join(deciders)}{said}", view)
        self.deciders, self.reason = deciders, reason


class Expired(NotApproved):
    def __init__(self, view: View, deciders: list[str], reason: str) -> None:
        super().__init__(f"request {view['id']} expired: {reason}", view)
        self.deciders, self.reason = deciders, reason


class Cancelled(NotApproved):
    def __init__(self, view: View, deciders: list[str], reason: str | None) -> None:
        by = f" by {', '.join(deciders)}" if deciders else ""
        said = f": {reason}" if reason else ""
        super().__init__(f"request {view['id']} cancelled{by}{said}", view)
        self.deciders, self.reason = deciders, reason


class NotDecided(NotApproved, TimeoutError):
    """Still pending when the helper's `timeout` ran out; the request was cancelled."""


class SignoffRefused(NotApproved):
    """Signoff refused to open or read the request (not allowed, unknown, frozen...)."""

    def __init__(self, error: Refused) -> None:
        super().__init__(f"Signoff refused: {error}")
        self.status, self.type = error.status, error.type


class SignoffUnreachable(NotApproved):
    """Signoff did not answer; unreachable never means go."""


@dataclass(frozen=True)
class Approval:
    request_id: str
    approvers: list[str]
    view: View = field(repr=False)


def _as_json(value: Any) -> Any:
    """Arguments as JSON (what the digest covers); objects JSON cannot hold become text."""
    return json.loads(json.dumps(value, default=str))


def _arguments(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    return _as_json(dict(bound.arguments))


class require_approval:  # lower case: it reads as the decorator it is
    """Ask Signoff's people before the decorated function (or the `with` body) runs."""

    def __init__(
        self,
        *,
        system: str,
        activity: str,
        summary: str,
        reason: str | None = None,
        details: Any = None,
        tool: str | None = None,
        version: str | None = None,
        environment: str | None = None,
        agent: str | None = None,
        on_behalf_of: str | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        url: str | None = None,
        token: str | None = None,
    ) -> None:
        self.system, self.activity, self.summary, self.reason = system, activity, summary, reason
        self.details, self.tool, self.key, self.timeout = details, tool, idempotency_key, timeout
        self.version, self.environment = version, environment
        self.agent = Agent(
            agent or os.environ.get("SIGNOFF_AGENT_NAME") or "python-agent",
            os.environ.get("SIGNOFF_AGENT_SESSION") or None,
            on_behalf_of or os.environ.get("SIGNOFF_ON_BEHALF_OF") or None,
        )
        self.url, self.token = url, token

    # The decorator --------------------------------------------------------------------------

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        tool = self.tool or func.__name__
        if inspect.iscoroutinefunction(func):
            run = cast(Callable[P, Awaitable[Any]], func)

            @functools.wraps(func)
            async def asking_first(*args: P.args, **kwargs: P.kwargs) -> Any:
                details = self._details(func, args, kwargs)
                await self._decide_async(details, tool)
                return await run(*args, **kwargs)

            return cast(Callable[P, R], asking_first)

        @functools.wraps(func)
        def asking_before(*args: P.args, **kwargs: P.kwargs) -> R:
            self._decide(self._details(func, args, kwargs), tool)
            return func(*args, **kwargs)

        return asking_before

    def _details(self, func: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        return _as_json(self.details) if self.details is not None else _arguments(func, args, kw)

    # The context managers -------------------------------------------------------------------

    async def __aenter__(self) -> Approval:
        details = None if self.details is None else _as_json(self.details)
        return await self._decide_async(details, self.tool)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def __enter__(self) -> Approval:
        return self._decide(None if self.details is None else _as_json(self.details), self.tool)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    # Asking and waiting ---------------------------------------------------------------------

    def _open(self, details: Any, tool: str | None) -> tuple[Api, View, str | None]:
        api = asking.connect(self.url, self.token)
        sent = asking.body(
            self.agent,
            self.system,
            self.activity,
            self.summary,
            self.reason,
            details,
            tool,
            self.version,
            self.environment,
        )
        view, tag, _ = _guarded(asking.open_request, api, sent, self.key or asking.new_key())
        return api, view, tag

    def _seconds(self, deadline: float | None) -> int:
        left = asking.LONG_POLL if deadline is None else deadline - time.monotonic()
        return int(min(asking.LONG_POLL, left))

    def _decide(self, details: Any, tool: str | None) -> Approval:
        api, view, tag = self._open(details, tool)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        heard = time.monotonic()
        try:
            while view["status"] == "pending":
                seconds = self._seconds(deadline)
                if seconds < 1:
                    return _timed_out(api, _withdraw(api, view, TIMED_OUT))
                try:
                    view, tag = _guarded(asking.poll, api, view, tag, seconds)
                    heard = time.monotonic()
                except SignoffUnreachable:
                    if time.monotonic() - heard > PATIENCE:
                        raise
                    time.sleep(1)
        except BaseException as stop:
            if not isinstance(stop, NotApproved):
                _withdraw(api, view, STOPPED)  # KeyboardInterrupt and the like
            raise
        return _outcome(api, view)

    async def _decide_async(self, details: Any, tool: str | None) -> Approval:
        api, view, tag = await asyncio.to_thread(self._open, details, tool)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        heard = time.monotonic()
        try:
            while view["status"] == "pending":
                seconds = self._seconds(deadline)
                if seconds < 1:
                    left = await asyncio.to_thread(_withdraw, api, view, TIMED_OUT)
                    return await asyncio.to_thread(_timed_out, api, left)
                try:
                    view, tag = await asyncio.to_thread(
                        _guarded, asking.poll, api, view, tag, seconds
                    )
                    heard = time.monotonic()
                except SignoffUnreachable:
                    if time.monotonic() - heard > PATIENCE:
                        raise
                    await asyncio.sleep(1)
        except asyncio.CancelledError:
            # The task waiting for people was cancelled: nobody should approve it any more.
            await asyncio.to_thread(_withdraw, api, view, STOPPED)
            raise
        return await asyncio.to_thread(_outcome, api, view)


def _guarded(call: Callable[..., R], *args: Any) -> R:
    """`call(*args)`, with Signoff's refusals and silence as this module's errors."""
    try:
        return call(*args)
    except Refused as error:
        raise SignoffRefused(error) from None
    except Unreachable as error:
        raise SignoffUnreachable(f"Signoff did not answer: {error}") from None


def _withdraw(api: Api, view: View, reason: str) -> View:
    """Cancel a request nobody waits for any more; a request decided meanwhile stays so."""
    try:
        return asking.cancel(api, view["id"], reason)
    except (Refused, Unreachable):
        try:
            return asking.get(api, view["id"])[0]
        except (Refused, Unreachable):
            return {**view, "status": "cancelled"}


def _timed_out(api: Api, view: View) -> Approval:
    """After the timeout's cancel: approved in the meantime still counts; otherwise not decided."""
    if view["status"] == "cancelled":
        raise NotDecided(f"request {view['id']} was not decided in time and is cancelled", view)
    return _outcome(api, view)


def _outcome(api: Api, view: View) -> Approval:
    """The approval, or the error saying who decided otherwise and why."""
    status = view["status"]
    if status == "approved":
        return Approval(view["id"], asking.approvers(view), view)
    if status == "rejected":
        rejection = view.get("rejection") or {}
        raise Rejected(view, [rejection.get("person", "")], rejection.get("reason"))
    if status == "expired":
        expired_at = (view.get("deadlines") or {}).get("expires_at")
        raise Expired(view, asking.approvers(view), f"nobody decided before {expired_at}")
    if status == "cancelled":
        by = asking.cancelled_by(api, view)
        raise Cancelled(view, [by] if by else [], None)
    raise NotDecided(f"request {view['id']} is still pending", view)
