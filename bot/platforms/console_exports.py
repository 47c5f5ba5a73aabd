"""The console's exports, for the policy's auditors only: the ledger for a period as JSONL,
and the evidence pack. Each is a form (with its CSRF token) and each is itself a ledger entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.platforms.console_routes import ConsoleActions
from bot.services.console_access import may_export
from bot.services.console_evidence import EvidencePacks
from workflows.ledger import AuditEvent, parse_time


class ConsoleExports(ConsoleActions):
    async def export(self, request: web.Request) -> web.StreamResponse:
        """The ledger for a period as `signoff audit export --format jsonl` writes it, which
        `signoff audit verify --file` checks; the export is itself a ledger entry."""
        viewer, form = await self.posted(request)
        if not may_export(self.policy, viewer.person):
            raise web.HTTPForbidden(text="Only the policy's console auditors may export.")
        since, until = period(form)
        body = "".join([line async for line in self.reads.jsonl(since, until)])
        digest = hashlib.sha256(body.encode()).hexdigest()
        upto, _ = await self.reads.head()
        # The same entry `signoff audit export` appends (AUD-14), with the person who took it.
        event = AuditEvent(
            action="exported",
            subject_type="ledger",
            subject_id=str(upto),
            actor=viewer.actor(),
            data={
                "format": "jsonl",
                "since": form.get("since") or None,
                "until": form.get("until") or None,
                "entries": body.count("\n"),
                "sha256": digest,
                "bytes": len(body.encode()),
                "upto_seq": upto,
            },
        )
        async with self.runtime.service.uow.command("export") as tx:
            tx.append([event])
        stamp = self.now().strftime("%Y%m%dT%H%M%SZ")
        return web.Response(
            body=body.encode(),
            content_type="application/x-ndjson",
            headers={
                "Content-Disposition": f'attachment; filename="signoff-ledger-{stamp}.jsonl"',
                "X-Content-SHA256": digest,
                "Cache-Control": "no-store",
            },
        )

    async def evidence(self, request: web.Request) -> web.StreamResponse:
        """The evidence pack for a period: a zip an auditor can check file by file."""
        viewer, form = await self.posted(request)
        if not may_export(self.policy, viewer.person):
            raise web.HTTPForbidden(text="Only the policy's console auditors may export.")
        since, until = period(form)
        path = getattr(self.runtime.policies, "path", None)
        packs = EvidencePacks(self.runtime.service.uow, Path(path) if path else None)
        pack = await packs.build(since, until, viewer.actor())
        stamp = self.now().strftime("%Y%m%dT%H%M%SZ")
        return web.Response(
            body=pack.data,
            content_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="signoff-evidence-{stamp}.zip"',
                "Cache-Control": "no-store",
            },
        )


def period(given: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """`since` and `until`: dates (UTC midnight) or RFC 3339 times."""
    found: list[datetime | None] = []
    for name in ("since", "until"):
        text = given.get(name, "").strip()
        if not text:
            found.append(None)
            continue
        try:
            found.append(parse_time(text + "T00:00:00Z" if len(text) == 10 else text))
        except ValueError:
            raise web.HTTPBadRequest(
                text=f"{name}: {json.dumps(text)[:80]} is not a date (YYYY-MM-DD) or time"
            ) from None
    since, until = found
    return since, until
