"""Callbacks to API clients: which request events go out, their outbox rows and signatures.

Imports storage, the outbound sender's types and `standardwebhooks`; never services. A request
opened through API v1 with `callback.url` has every vote and its final state POSTed there,
signed as Standard Webhooks with each live `whsec_` secret of its client. The rows are queued
in the transaction that appends the ledger entries they report, so a decision and its
callback commit together; `webhook-id` is the entry's `seq`, for receivers to deduplicate on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from standardwebhooks import Webhook

from adapters.port import PermanentFailure
from bot.delivery.messages import CallbackMessage, outbox_row
from bot.delivery.outbound import OutboundPost
from bot.delivery.reads import TransactionReads
from bot.storage.api_clients import signing_secrets
from bot.storage.tables import outbox
from workflows.ledger import AuditEvent, LedgerEntry
from workflows.policy import Policy

log = logging.getLogger("signoff.callbacks")

PLATFORM = "callback"
# The request events a client hears of, and the status each leaves the request in.
CALLED_BACK: dict[str, str] = {
    "voted": "pending",
    "consulted": "pending",
    "approved": "approved",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "expired": "expired",
}


def under_prefix(url: str, prefixes: Sequence[str]) -> bool:
    """Whether `url` is under one of `prefixes`, compared as URLs, not as strings: the same
    scheme, host and port, no user name, no `..` that climbs out of the prefix's path."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or "\\" in url:
        return False
    path = unquote(parts.path) or "/"
    if any(segment in (".", "..") for segment in path.split("/")):
        return False
    for prefix in prefixes:
        allowed = urlsplit(prefix)
        try:
            same_port = (parts.port or 443) == (allowed.port or 443)
        except ValueError:
            return False
        if (parts.scheme, parts.hostname) != (allowed.scheme, allowed.hostname) or not same_port:
            continue
        base = allowed.path or "/"
        if path == base or path.startswith(base if base.endswith("/") else base + "/"):
            return True
    return False


@dataclass(frozen=True)
class Target:
    """Where a request's events go, and what the client said it is about."""

    client: str
    url: str
    opened: dict[str, Any]


async def callback_targets(
    reads: TransactionReads, events: Sequence[AuditEvent]
) -> dict[str, Target]:
    """The requests among `events`' subjects that have a callback, by id (one query, made
    before the ledger's head is locked)."""
    ids = [e.subject_id for e in events if e.subject_type == "request" and e.action in CALLED_BACK]
    if not ids:
        return {}
    targets: dict[str, Target] = {}
    for request_id, (client, body) in (await reads.opened_by(ids)).items():
        try:
            opened = json.loads(body)
            url = (opened.get("callback") or {}).get("url")
        except (ValueError, AttributeError):
            # A hand-edited or damaged stored body must not fail the person's decision: the
            # decision stands, and only its callback is lost, which the log says.
            log.error("request %s: its stored API body is not JSON; no callback sent", request_id)
            continue
        if isinstance(url, str):
            targets[request_id] = Target(client, url, opened)
    return targets


async def enqueue_callbacks(
    conn: AsyncConnection,
    targets: dict[str, Target],
    entries: Sequence[LedgerEntry],
    now: datetime,
) -> int:
    """Queue a callback for each appended entry a target hears of; returns how many."""
    rows = [
        outbox_row(
            PLATFORM,
            # One line per request: its events reach the receiver in the ledger's order.
            f"{PLATFORM}:{entry.subject_id}",
            CallbackMessage(
                client=target.client,
                url=target.url,
                event_id=str(entry.seq),
                body=callback_body(entry, target),
            ),
            now,
            request_id=entry.subject_id,
        )
        for entry in entries
        if entry.subject_type == "request"
        and entry.action in CALLED_BACK
        and (target := targets.get(entry.subject_id)) is not None
    ]
    if rows:
        await conn.execute(insert(outbox), rows)
    return len(rows)


def callback_body(entry: LedgerEntry, target: Target) -> str:
    """The event as Standard Webhooks' payload shape: `type`, `timestamp` and `data`."""
    opened, request_id = target.opened, entry.subject_id
    data = {
        "id": request_id,
        "status": CALLED_BACK[entry.action],
        "system": opened.get("system"),
        "activity": opened.get("activity", "deploy"),
        "version": opened.get("version"),
        "environment": opened.get("environment"),
        "artifact": opened.get("artifact"),
        "event": {
            "seq": entry.seq,
            "at": entry.at,
            "action": entry.action,
            "actor": {"person": entry.actor_person, "platform": entry.actor_platform},
            "data": entry.data,
            "hash": entry.hash,
        },
        "links": {
            "request": f"/api/v1/requests/{request_id}",
            "events": f"/api/v1/requests/{request_id}/events",
        },
    }
    event = {"type": f"request.{entry.action}", "timestamp": entry.at, "data": data}
    return json.dumps(event, sort_keys=True, separators=(",", ":"))


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CallbackSigner:
    """Builds a callback's POST: checked against the policy in force, signed with every
    live secret of its client (two while a rotation overlaps), stamped with the real time,
    which receivers compare with their own clocks."""

    stamp: Callable[[], datetime] = field(default=_wall_clock)

    async def __call__(
        self, conn: AsyncConnection, policy: Policy, message: Any, now: datetime
    ) -> OutboundPost:
        assert isinstance(message, CallbackMessage)
        client = policy.clients.get(message.client)
        if client is None:
            raise PermanentFailure(f"client {message.client} is no longer in the policy")
        if not under_prefix(message.url, client.callbacks):
            raise PermanentFailure(
                f"{message.url} is no longer under client {message.client}'s callback prefixes"
            )
        secrets = await signing_secrets(conn, message.client, now)
        if not secrets:
            raise PermanentFailure(
                f"client {message.client} has no live signing secret; "
                f"`signoff clients rotate {message.client}` makes one"
            )
        at = self.stamp()
        signatures = " ".join(
            Webhook(secret).sign(message.event_id, at, message.body) for secret in secrets
        )
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Signoff-Callbacks",
            "webhook-id": message.event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures,
        }
        return OutboundPost(message.url, message.body.encode(), headers)
