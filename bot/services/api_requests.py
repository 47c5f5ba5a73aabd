"""Requests machines open through API v1: Idempotency-Keys around the approval service.

Imports no platform adapter. A key is claimed in the open's own transaction, its first write,
and released in it when the machine refuses, so the key and its request commit together or
not at all: a crash leaves neither, and there is no claim without its request to wait on.
A concurrent duplicate meets the key's primary key: on SQLite after the first call committed
(every write transaction holds the one write lock), on PostgreSQL by waiting on the first
call's uncommitted row; either way it then finds the request and answers with it. Opening
itself is the approval service's: the same machine, the same ledger, as a person in chat.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.delivery.callbacks import under_prefix
from bot.delivery.outbound import AddressGuard, AddressRefused
from bot.services.approvals import ApprovalService
from bot.services.ids import new_request_id
from bot.services.unit_of_work import unavailable_on_outage
from bot.storage.api_clients import (
    KeyRow,
    body_of,
    claim_key,
    load_key,
    release_key,
    signing_secrets,
)
from bot.storage.requests import load_request
from workflows.commands import Cancel, OpenRequest
from workflows.ledger import LedgerEntry
from workflows.machine_types import Outcome
from workflows.model import Actor, ApprovalRequest
from workflows.opening import API
from workflows.redaction import mask_text

# A key whose request does not exist was claimed by an earlier version, which claimed in a
# transaction of its own: older than this, its call died before opening; younger, it may still
# be under way (replicas of both versions during an upgrade).
STALE_CLAIM = timedelta(seconds=30)


class KeyConflict(StrEnum):
    REUSED = "reused"
    IN_FLIGHT = "in-flight"


@dataclass(frozen=True)
class Opened:
    """The request a key stands for; `outcome` is the machine's answer when one was asked.

    When this call created it, what it wrote, for an answer without reading it back: the
    request's `state`, the `body` kept beside the key and the request's ledger `entries`."""

    request_id: str
    created: bool
    outcome: Outcome | None = None
    conflict: KeyConflict | None = None
    state: ApprovalRequest | None = None
    body: str = ""
    entries: tuple[LedgerEntry, ...] = ()


class _KeyHeld(Exception):
    """The key's row exists already: the open's transaction is rolled back."""


class CallbackRefused(Exception):
    """The request's `callback.url` is not one Signoff will post to; the message says why."""


@dataclass
class ApiRequests:
    approvals: ApprovalService
    # Where callbacks may go: the same rule the relay applies again when it sends them.
    guard: AddressGuard = field(default_factory=AddressGuard)

    async def check_callback(self, client: str, prefixes: Sequence[str], url: str) -> None:
        """Refuse a callback outside the client's prefixes, to a host that is or resolves to a
        private or loopback address (unless the operator allows them), or for a client with
        no secret to sign it; raises `CallbackRefused`."""
        if not under_prefix(url, prefixes):
            raise CallbackRefused("not under one of this client's allowed callback prefixes")
        try:
            await self.guard.check(url)
        except AddressRefused as error:
            raise CallbackRefused(str(error)) from None
        uow = self.approvals.uow
        async with unavailable_on_outage("check-callback"), uow.reading() as conn:
            signing = await signing_secrets(conn, client, uow.clock())
        if not signing:
            raise CallbackRefused(
                f"client {client} has no secret to sign callbacks with; the operator makes "
                f"one with `signoff clients rotate {client}`"
            )

    async def open(
        self, key: str, fingerprint: str, body: str, command: OpenRequest, scope: str = ""
    ) -> Opened:
        """Open `command` once per (client, key); its request_id is replaced by the key's.
        `scope` replaces the client as the keys' owner (the GitHub gate's `@github`)."""
        client = scope or command.actor.platform_user_id
        body = without_secrets(body)
        for _ in range(2):
            asked = command.model_copy(update={"request_id": new_request_id()})
            try:
                return await self._open(client, key, fingerprint, body, asked)
            except _KeyHeld:
                pass
            async with self.approvals.uow.reading() as conn:
                row = await load_key(conn, client, key)
            if row is None:  # released in between by a refused call: try again
                continue
            found = await self._resolve(client, key, fingerprint, row)
            if found is not None:
                return found
        return Opened("", False, conflict=KeyConflict.IN_FLIGHT)

    async def _open(
        self, client: str, key: str, fingerprint: str, body: str, command: OpenRequest
    ) -> Opened:
        """Claim the key and open in one transaction; `_KeyHeld` when the key is taken."""
        request_id = command.request_id
        async with self.approvals.uow.command(command.action.value) as tx:
            try:
                await claim_key(tx.conn, client, key, fingerprint, request_id, body, tx.now)
            except IntegrityError:
                raise _KeyHeld from None
            outcome, state = await self.approvals.apply_in(tx, command)
            if not outcome.ok:
                # Refused (not allowed, unknown, frozen): the refusal is audited, nothing was
                # opened, so the same call may be made again once the reason is gone.
                await release_key(tx.conn, client, key)
        if not outcome.ok:
            return Opened(request_id, False, outcome)
        entries = tuple(
            entry
            for entry in tx.entries
            if entry.subject_type == "request" and entry.subject_id == request_id
        )
        return Opened(request_id, True, outcome, state=state, body=body, entries=entries)

    def _writing(self, label: str) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return _writing(self.approvals.uow.engine, label)

    async def _resolve(self, client: str, key: str, fingerprint: str, row: KeyRow) -> Opened | None:
        """What an existing claim means for this call; None to claim the key afresh."""
        if not row.request_id:
            return None
        if row.fingerprint != fingerprint:
            return Opened(row.request_id, False, conflict=KeyConflict.REUSED)
        async with self.approvals.uow.reading() as conn:
            state = await load_request(conn, row.request_id)
        if state is not None:
            return Opened(row.request_id, False)
        if self.approvals.uow.clock() - row.created_at < STALE_CLAIM:
            return Opened(row.request_id, False, conflict=KeyConflict.IN_FLIGHT)
        async with self._writing("release-key") as conn:
            await release_key(conn, client, key)
        return None

    async def owned(self, client: str, request_id: str) -> tuple[ApprovalRequest, str] | None:
        """The request and the body it was opened with, when `client` opened it."""
        async with self.approvals.uow.reading() as conn:
            body = await body_of(conn, client, request_id)
            state = await load_request(conn, request_id) if body is not None else None
        return None if state is None or body is None else (state, body)

    async def cancel(self, client: str, request_id: str, reason: str) -> Outcome:
        command = Cancel(request_id=request_id, actor=_actor(client), reason=reason)
        return await self.approvals.handle(command)


def without_secrets(body: str) -> str:
    """The body as kept beside its key, the agent's preview masked: the database holds no
    secret a client let slip, whatever it sent."""
    sent = json.loads(body)
    agent = (sent.get("context") or {}).get("agent") or {}
    if not isinstance(agent.get("preview"), str):
        return body
    agent["preview"] = mask_text(agent["preview"])
    return json.dumps(sent, separators=(",", ":"))


def _actor(client: str) -> Actor:
    return Actor(person=None, platform=API, platform_user_id=client)


@contextlib.asynccontextmanager
async def _writing(engine: AsyncEngine, label: str) -> AsyncIterator[AsyncConnection]:
    """A short write transaction of its own; a database outage is `ServiceUnavailable`."""
    async with unavailable_on_outage(label), engine.begin() as conn:
        yield conn
