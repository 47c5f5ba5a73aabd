"""B3 with anchoring on: click latency on an empty ledger and a long one while the scheduler
anchors the head with a local RFC 3161 authority (OpenSSL's `ts -reply`) every N entries.

Run by hand (it is not a test):

    .venv/bin/python -m bench.anchored_clicks                      # SQLite, 1,000,000 entries
    .venv/bin/python -m bench.anchored_clicks --database-a URL --database-b URL

As `bench.ledger_clicks`, with the sweep scheduler and its anchoring job mounted as `serve`
mounts them, anchoring every `--every` entries and `--seconds` (defaults 100 and 2, far more
often than Signoff's 1,000 and an hour, so several anchors land inside each measured run).
It prints how many anchors each database got and checks them with the code of
`signoff audit verify --anchors`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bench.ledger_clicks import by_ledger_size, report
from bot.audit.auditor import audit_database
from bot.audit.tsa import load_roots
from bot.scheduling.anchoring import AnchorConfig
from bot.scheduling.scheduler import scheduler_mount
from bot.storage.database import create_engine
from tests.tsa_standin import TsaStandIn


async def main(
    a: str | None, b: str | None, entries: int, requests: int, every: int, seconds: float
) -> int:
    # The authority runs in a process of its own, as a real one would: its OpenSSL signing
    # must not be counted as Signoff's time.
    directory = Path(tempfile.mkdtemp()) / "tsa"
    port = _free_port()
    tsa = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.anchored_clicks", "--serve-tsa", str(directory), str(port)
    )
    tsa_url = f"http://127.0.0.1:{port}"
    await _until_listening(port)
    roots = load_roots(directory / "root.pem")
    config = AnchorConfig((tsa_url + "/",), roots, every=every, seconds=seconds)
    mounts = (scheduler_mount(3600, lambda: datetime.now(UTC), config),)
    try:
        found = await by_ledger_size(a, b, entries, requests, mounts)
    finally:
        tsa.terminate()
        await tsa.wait()
    dialect = found.empty.split(":", 1)[0]
    report(f"B3 click latency, anchoring every {every} entries, on {dialect}", entries, found)
    for name, url in (("empty", found.empty), ("long", found.full)):
        engine = create_engine(url)
        try:
            audit = await audit_database(engine, roots)
        finally:
            await engine.dispose()
        verdict = "verify --anchors OK" if audit.ok else f"FAILED {audit.anchors.findings}"
        print(f"  {name} ledger: {audit.anchors.tokens} anchors, {verdict}")
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit("the time-stamping authority did not start")


def serve_tsa(directory: str, port: str) -> int:
    async def app() -> web.Application:
        return TsaStandIn(Path(directory)).app()

    web.run_app(app(), host="127.0.0.1", port=int(port), print=None)
    return 0


def cli() -> int:
    if sys.argv[1:2] == ["--serve-tsa"]:
        return serve_tsa(*sys.argv[2:4])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-a", help="empty-ledger database (default: new SQLite)")
    parser.add_argument("--database-b", help="long-ledger database (default: new SQLite)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="approvals per run")
    parser.add_argument("--every", type=int, default=100, help="anchor after this many entries")
    parser.add_argument("--seconds", type=float, default=2.0, help="and at least this often")
    args = parser.parse_args()
    return asyncio.run(
        main(
            args.database_a, args.database_b, args.entries, args.requests, args.every, args.seconds
        )
    )


if __name__ == "__main__":
    sys.exit(cli())
