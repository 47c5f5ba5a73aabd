"""The evidence pack an auditor takes from the console: the ledger for a period, the policy
file behind its digests, CSV summaries of decisions, reviews and incidents, a manifest of
SHA-256 hashes and a README saying what each file is evidence of. Taking it is a ledger entry.

Imports no platform adapter; reads through storage and the export format of `bot.audit`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.audit.evidence import anchor_files
from bot.audit.export import jsonl_line, neutralise, read_rows
from bot.services.unit_of_work import UnitOfWork
from bot.storage.anchors import ANCHORED, all_anchors
from bot.storage.tables import approval_requests, incidents, risk_reviews
from workflows.incidents import Incident
from workflows.ledger import AuditEvent, format_time
from workflows.model import Actor, ApprovalRequest
from workflows.reviews import RiskReview

README = """Signoff evidence pack
=====================

Period: {since} to {until} (UTC; an open end is the beginning or the time of export).
Taken by {who} at {at}. manifest.json lists every file with its SHA-256.

ledger.jsonl     every ledger entry of the period, hash-chained, in the format of
                 `signoff audit export --format jsonl`. Check it on its own:
                     signoff audit verify --file ledger.jsonl
                 A period that starts after the first entry trusts its first link.
                 EU AI Act Art. 12 (record-keeping: events logged automatically over the
                 system's lifetime); ISO/IEC 42001 clause 7.5 (documented information) and
                 clause 9.2 (internal audit).
anchors/         the RFC 3161 timestamp tokens over the ledger's head that the period
                 records, and anchors/README.txt on checking them with `openssl ts -verify`
                 and the chain with anchors/check_chain.py (Python's standard library only).
decisions.csv    each request opened in the period: what was asked, by whom, who approved
                 or rejected it and why, and when. EU AI Act Art. 14 (human oversight: a
                 natural person decided); ISO/IEC 42001 clause 8.1 (operational control).
reviews.csv      each risk review due or completed in the period, who completed it and what
                 was checked. ISO/IEC 42001 clause 9.1 (monitoring) and 9.3 (review); EU AI
                 Act Art. 9 (risk management, for high-risk systems).
incidents.csv    each incident opened in the period, its severity, when it was closed and
                 by whom. ISO/IEC 42001 clause 10.2 (nonconformity and corrective action);
                 EU AI Act Art. 73 (reporting serious incidents).
policy/          the policy file in force when the pack was taken, named by its SHA-256, if
                 that digest appears in the period. Every entry names the digest of the
                 policy it was recorded under: manifest.json lists them all, and those not
                 included here are found in the policy's own version history.

The mapping above says which record answers which provision; it is not legal advice.
"""


@dataclass(frozen=True)
class Pack:
    data: bytes
    manifest: dict[str, Any]


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise("" if cell is None else str(cell)) for cell in row])
    return out.getvalue().encode()


def _when(moment: datetime | None) -> str:
    return format_time(moment) if moment is not None else ""


def _decisions(states: Sequence[ApprovalRequest]) -> bytes:
    header = ("request", "system", "activity", "version", "environment", "status", "requester",
              "platform", "opened_at", "decided_at", "approvals", "rejected_by", "reason",
              "rejection_reason", "policy_digest")  # fmt: skip
    return _csv(
        header,
        (
            (
                s.id,
                s.system,
                s.activity,
                s.version,
                s.environment,
                s.status.value,
                s.requester.person or s.requester.platform_user_id,
                s.requester.platform,
                _when(s.opened_at),
                _when(s.decided_at),
                "; ".join(f"{v.person} ({v.platform}, {_when(v.at)})" for v in s.approvals),
                s.rejection.person if s.rejection else "",
                s.reason,
                s.rejection.comment if s.rejection else "",
                s.policy_digest,
            )
            for s in states
        ),
    )


def _reviews(reviews: Sequence[RiskReview]) -> bytes:
    header = ("review", "system", "status", "due_at", "completed_at", "completed_by",
              "escalated", "checked", "notes")  # fmt: skip
    return _csv(
        header,
        (
            (
                r.id,
                r.system,
                r.status.value,
                _when(r.due_at),
                _when(r.completed_at),
                r.completed_by,
                r.escalated,
                "; ".join(r.checked),
                r.notes,
            )
            for r in reviews
        ),
    )


def _incidents(found: Sequence[Incident]) -> bytes:
    header = ("incident", "system", "severity", "status", "opened_at", "reporter", "summary",
              "closed_at", "closed_by", "closing_summary")  # fmt: skip
    return _csv(
        header,
        (
            (
                i.id,
                i.system,
                i.severity,
                i.status.value,
                _when(i.opened_at),
                i.reporter.person or i.reporter.platform_user_id,
                i.summary,
                _when(i.closed_at),
                (i.closed_by.person or i.closed_by.platform_user_id) if i.closed_by else "",
                i.closing_summary,
            )
            for i in found
        ),
    )


def _between(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if moment is None:
        return False
    return (since is None or moment >= since) and (until is None or moment < until)


@dataclass
class EvidencePacks:
    uow: UnitOfWork
    policy_file: Path | None = None

    async def build(self, since: datetime | None, until: datetime | None, actor: Actor) -> Pack:
        """The pack for [since, until), and its `exported` ledger entry, after it was built."""
        now = self.uow.clock()
        async with self.uow.engine.connect() as conn:  # before the entries that record them
            anchors = await all_anchors(conn)
        lines: list[str] = []
        digests: set[str] = set()
        recorded: set[str] = set()  # the tokens the period's `anchored` entries name
        async for row in read_rows(self.uow.engine, since):
            if until is not None and row["at"] >= format_time(until):
                break
            lines.append(jsonl_line(row))
            digests.add(row["policy_digest"])
            if row["action"] == ANCHORED:
                recorded.update(t["sha256"] for t in json.loads(row["data"])["tokens"])
        states, reviews, found = await self._subjects(since, until)
        files: dict[str, bytes] = {
            "ledger.jsonl": "".join(lines).encode(),
            "decisions.csv": _decisions(states),
            "reviews.csv": _reviews(reviews),
            "incidents.csv": _incidents(found),
        }
        if self.policy_file is not None and self.policy_file.is_file():
            raw = self.policy_file.read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            if digest in digests:
                files[f"policy/{digest}.yaml"] = raw
        # The period's anchors with their tokens, the auditor's README and check script.
        kept = [a for a in anchors if a.token_sha256 in recorded]
        files.update({f"anchors/{n}": body for n, body in anchor_files(kept).items()})
        who = actor.person or actor.platform_user_id
        files["README.txt"] = README.format(
            since=_when(since) or "the first entry",
            until=_when(until) or "the time of export",
            who=who,
            at=_when(now),
        ).encode()
        first = json.loads(lines[0])["seq"] if lines else None
        last = json.loads(lines[-1]) if lines else None
        manifest: dict[str, Any] = {
            "generated_at": _when(now),
            "taken_by": who,
            "since": _when(since) or None,
            "until": _when(until) or None,
            "ledger": {
                "entries": len(lines),
                "first_seq": first,
                "last_seq": last["seq"] if last else None,
                "last_hash": last["hash"] if last else None,
            },
            "policy_digests": sorted(digests),
            "files": {
                name: {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
                for name, body in sorted(files.items())
            },
        }
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:
            for name, body in sorted(files.items()):
                pack.writestr(zipfile.ZipInfo(name, date_time=now.timetuple()[:6]), body)
            pack.writestr(zipfile.ZipInfo("manifest.json", date_time=now.timetuple()[:6]),
                          manifest_bytes)  # fmt: skip
        await self._record(actor, manifest, hashlib.sha256(manifest_bytes).hexdigest())
        return Pack(buffer.getvalue(), manifest)

    async def _subjects(
        self, since: datetime | None, until: datetime | None
    ) -> tuple[list[ApprovalRequest], list[RiskReview], list[Incident]]:
        async with self.uow.reading() as conn:
            states = [
                ApprovalRequest.model_validate_json(raw)
                for raw in (
                    await conn.execute(
                        select(approval_requests.c.state).order_by(approval_requests.c.opened_at)
                    )
                ).scalars()
            ]
            reviews = [
                RiskReview.model_validate_json(raw)
                for raw in (await conn.execute(select(risk_reviews.c.state))).scalars()
            ]
            found = [
                Incident.model_validate_json(raw)
                for raw in (
                    await conn.execute(select(incidents.c.state).order_by(incidents.c.opened_at))
                ).scalars()
            ]
        return (
            [s for s in states if _between(s.opened_at, since, until)],
            sorted(
                (
                    r
                    for r in reviews
                    if _between(r.due_at, since, until) or _between(r.completed_at, since, until)
                ),
                key=lambda r: r.due_at,
            ),
            [i for i in found if _between(i.opened_at, since, until)],
        )

    async def _record(self, actor: Actor, manifest: dict[str, Any], digest: str) -> None:
        ledger = manifest["ledger"]
        event = AuditEvent(
            action="exported",
            subject_type="ledger",
            subject_id=str(ledger["last_seq"] or 0),
            actor=actor,
            data={
                "format": "evidence-pack",
                "since": manifest["since"],
                "until": manifest["until"],
                "entries": ledger["entries"],
                "manifest_sha256": digest,
                "upto_seq": ledger["last_seq"],
            },
        )
        async with self.uow.command("export") as tx:
            tx.append([event])
