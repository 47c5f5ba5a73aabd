"""Black box: a real `signoff serve` configured with a time-stamping authority anchors its
ledger, copies the anchor for the operator and reports it in /metrics; `signoff audit verify
--anchors` then accepts the ledger. Settings that cannot work stop it before it starts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from tests.serve_process import _env, signoff, start_server
from tests.tsa_standin import RunningTsa


async def test_serve_anchors_its_ledger_and_the_auditor_s_check_passes(
    tmp_path: Path, tsa: RunningTsa
) -> None:
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    copy = tmp_path / "anchors.jsonl"
    settings = {
        "SIGNOFF_TSA_URLS": tsa.url,
        "SIGNOFF_TSA_ROOTS": str(tsa.roots),
        "SIGNOFF_ANCHOR_EVERY": "1",
        "SIGNOFF_ANCHOR_SECONDS": "1",
        "SIGNOFF_ANCHOR_COPY": str(copy),
    }
    # The first sweep schedules each system's first review: entries for the job to anchor.
    server = await start_server(tmp_path, "serve", _env(tmp_path, **settings))
    try:
        for _ in range(100):
            if copy.exists() and copy.read_text().strip():
                break
            await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as http, http.get(f"{server.base}/metrics") as got:
            metrics = await got.text()
    finally:
        await server.stop()
    first = json.loads(copy.read_text().splitlines()[0])
    assert first["seq"] >= 1 and first["tokens"][0]["tsa"] == tsa.url
    assert f'signoff_anchors_total{{tsa="{tsa.url}"}}' in metrics
    assert "signoff_anchor_age_seconds" in metrics
    verified = signoff(tmp_path, "audit", "verify", "--anchors", SIGNOFF_TSA_ROOTS=str(tsa.roots))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "anchors OK" in verified.stdout


def test_serve_refuses_authorities_without_usable_roots(tmp_path: Path) -> None:
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    no_roots = signoff(tmp_path, "serve", SIGNOFF_TSA_URLS="http://127.0.0.1:9/")
    assert no_roots.returncode != 0
    assert "SIGNOFF_TSA_URLS is set without SIGNOFF_TSA_ROOTS" in no_roots.stderr
    (tmp_path / "roots.pem").write_text("no certificate here\n")
    bad_roots = signoff(
        tmp_path, "serve", SIGNOFF_TSA_URLS="http://127.0.0.1:9/",
        SIGNOFF_TSA_ROOTS=str(tmp_path / "roots.pem"),
    )  # fmt: skip
    assert bad_roots.returncode == 2
    assert (
        "refusing to start" in bad_roots.stderr and "holds no PEM certificate" in bad_roots.stderr
    )
