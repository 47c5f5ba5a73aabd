"""The anchoring job: after every N entries and on a schedule, timestamp tokens for the ledger
head from each configured authority, stored, recorded in the ledger and posted outside; no
adapters.

The authorities are asked outside any transaction, so a slow or dead one never holds the
ledger's head lock and never delays a decision. Each is tried `attempts` times with backoff;
every failed try is counted. A round with no token leaves the anchor due, so the next run of
the job asks again. What a round obtained is written in one short transaction: the anchors,
the ledger's `anchored` entry and the governance channel's outbox rows.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509

from bot.audit.anchors import Round, channel_text, ledger_record, write_copy
from bot.audit.tsa import (
    AuthorityUnavailable,
    TokenError,
    load_roots,
    request_token,
    token_digest,
)
from bot.delivery.messages import Address, TextMessage, outbox_row
from bot.runtime import Runtime
from bot.settings import Settings
from bot.storage.anchors import (
    ANCHORED,
    Anchor,
    entries_to_anchor,
    head,
    insert_anchors,
    newest_anchor,
    newest_anchor_time,
)
from bot.storage.ledger import append_events
from bot.storage.tables import outbox
from workflows.ledger import AuditEvent
from workflows.model import SYSTEM_ACTOR

log = logging.getLogger("signoff.anchors")


@dataclass(frozen=True)
class AnchorConfig:
    """What `SIGNOFF_TSA_*` and `SIGNOFF_ANCHOR_*` configure."""

    tsa_urls: tuple[str, ...]
    roots: list[x509.Certificate]
    every: int = 1000
    seconds: float = 3600.0
    channel: str | None = None
    copy_to: Path | None = None
    attempts: int = 3
    backoff: float = 1.0
    timeout: float = 10.0

    @property
    def check_seconds(self) -> float:
        """How often the job looks at the head: the count rule is met within this."""
        return min(15.0, self.seconds)


class Anchorer:
    """Decides when the head is due an anchor and makes it."""

    def __init__(
        self, runtime: Runtime, config: AnchorConfig, clock: Callable[[], datetime]
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.clock = clock
        self.started = clock()
        self.newest: datetime | None = None
        runtime.metrics.anchor_age.set_function(self.age_seconds)

    def age_seconds(self) -> float:
        """Seconds since the newest anchor was stored; NaN before the first."""
        if self.newest is None:
            return math.nan
        return (self.clock() - self.newest).total_seconds()

    async def refresh(self) -> None:
        """Learn the newest anchor's time (another replica may have made it)."""
        async with self.runtime.engine.connect() as conn:
            self.newest = await newest_anchor_time(conn)

    async def due(self, now: datetime) -> tuple[int, str] | None:
        """The head (seq, hash) when it is due an anchor: N entries past the newest anchor, or
        its time is up and something besides anchoring happened since."""
        async with self.runtime.engine.connect() as conn:
            seq, hash_ = await head(conn)
            last = await newest_anchor(conn)
            last_seq = last.seq if last else 0
            if seq <= last_seq:
                return None
            if seq - last_seq >= self.config.every:
                return seq, hash_
            since = last.created_at if last and last.created_at else self.started
            if (now - since).total_seconds() >= self.config.seconds and await entries_to_anchor(
                conn, last_seq
            ):
                return seq, hash_
        return None

    async def run(self, now: datetime | None = None) -> Round | None:
        """One run of the job: an anchoring round when one is due."""
        now = now or self.clock()
        await self.refresh()
        target = await self.due(now)
        if target is None:
            return None
        return await self.anchor(*target, now)

    async def anchor(self, seq: int, hash_: str, now: datetime) -> Round | None:
        async with aiohttp.ClientSession() as session:
            got = await asyncio.gather(
                *(self._stamp(session, url, seq, hash_) for url in self.config.tsa_urls)
            )
        anchors = [a for a in got if a is not None]
        if not anchors:
            log.warning("no authority stamped the head seq %d; the next run asks again", seq)
            return None
        made = Round(seq, hash_, now, anchors)
        await self._store(made)
        self.newest = now
        self.runtime.relay.wake()
        log.info("ledger anchored at seq %d by %d authorities", seq, len(anchors))
        if self.config.copy_to is not None:
            try:
                await asyncio.to_thread(write_copy, self.config.copy_to, made)
            except OSError as error:
                self.runtime.metrics.anchor_failures.labels(tsa="copy", reason="copy").inc()
                log.error("could not write the anchor copy to %s: %s", self.config.copy_to, error)
        return made

    async def _stamp(
        self, session: aiohttp.ClientSession, url: str, seq: int, hash_: str
    ) -> Anchor | None:
        metrics = self.runtime.metrics
        for attempt in range(1, self.config.attempts + 1):
            try:
                token, stamp = await request_token(
                    session, url, hash_, self.config.roots, self.config.timeout
                )
            except (AuthorityUnavailable, TokenError) as error:
                kind = "unavailable" if isinstance(error, AuthorityUnavailable) else "token"
                metrics.anchor_failures.labels(tsa=url, reason=kind).inc()
                log.warning("TSA %s, try %d of %d: %s", url, attempt, self.config.attempts, error)
                if attempt < self.config.attempts:
                    await asyncio.sleep(self.config.backoff * 2 ** (attempt - 1))
                continue
            metrics.anchors.labels(tsa=url).inc()
            return Anchor(seq, hash_, url, stamp.stamped_at, token, token_digest(token))
        return None

    async def _store(self, made: Round) -> None:
        event = AuditEvent(
            action=ANCHORED,
            subject_type="ledger",
            subject_id=str(made.seq),
            actor=SYSTEM_ACTOR,
            data=ledger_record(made),
        )
        async with self.runtime.engine.begin() as conn:
            await insert_anchors(conn, made.anchors, made.at)
            rows = self._channel_rows(made)
            if rows:
                await conn.execute(outbox.insert(), rows)
            await append_events(conn, [event], made.at, self.runtime.policies.current.digest)

    def _channel_rows(self, made: Round) -> list[dict[str, Any]]:
        name = self.config.channel
        if name is None:
            return []
        channel = self.runtime.policies.current.policy.channels.get(name)
        platforms = [p for p in self.runtime.relay.ports if getattr(channel, p, None)]
        if not platforms:
            log.warning(
                "SIGNOFF_ANCHOR_CHANNEL %r names no channel of the policy on an enabled "
                "platform; the anchor is not posted",
                name,
            )
            return []
        message = TextMessage(text=channel_text(made), to=Address(kind="channel", key=name))
        return [outbox_row(p, f"{p}:channel:{name}", message, made.at) for p in platforms]


def anchor_config(settings: Settings) -> AnchorConfig | None:
    """The anchoring the settings ask for, None when no authority is configured; ValueError
    when the roots file cannot be read."""
    if not settings.tsa_urls or settings.signoff_tsa_roots is None:
        return None
    return AnchorConfig(
        tsa_urls=settings.tsa_urls,
        roots=load_roots(settings.signoff_tsa_roots),
        every=settings.signoff_anchor_every,
        seconds=settings.signoff_anchor_seconds,
        channel=settings.signoff_anchor_channel,
        copy_to=settings.signoff_anchor_copy,
    )
