"""Schemathesis against a live `signoff serve`: generated calls to every operation of the
OpenAPI document, valid and invalid, never answered with a 5xx or off the document."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from tests.api_process import api_world

pytestmark = pytest.mark.slow
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)


async def test_generated_calls_get_no_5xx_and_every_answer_matches_the_document(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        # The client the document's example open may ask for, so the stateful phase opens
        # real requests and follows the open's links to them.
        token = world.token("credit-ci")
        # Schemathesis runs its own event loop: a process of its own keeps ours serving.
        run = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("st")), "run",
            f"{world.server.base}/api/v1/openapi.json",
            "--url", world.server.base,
            "-H", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--max-examples", "25",
            "--seed", "16",
            "--request-timeout", "40",
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(run.communicate(), 600)
        report = out.decode()
        print(report[-3000:])
        assert run.returncode == 0, report[-8000:]
        assert "generated" in report and " passed" in report
        covered = re.search(r"API Links:\s+(\d+) covered", report)
        assert covered and int(covered.group(1)) > 0, report[-3000:]
