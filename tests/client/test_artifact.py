"""An approval names what it approves: with --artifact the client exits 0 only when the
approved digest is the one it is about to deploy."""

from __future__ import annotations

from pathlib import Path

from adapters.api.schema import Artifact
from tests.client.bare import finish, github_env, run, start, until
from tests.client.standin import TOKEN, Served

ASK = ("request", "deploy", "--system", "credit-scoring", "--version", "1.4.2", "--wait")
OURS, OTHER = "sha256:" + "9f" * 32, "sha256:" + "00" * 32


async def _approved(api: Served, tmp_path: Path, approved_digest: str) -> tuple[int, str]:
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    client = await start(*ASK, "--artifact", OURS, "--url", api.url, env=env)
    await until(lambda: api.standin.requests, "the request opened")
    request = api.standin.only()
    await api.standin.change(request.id, artifact=Artifact(digest=approved_digest))
    await api.standin.approve(request.id, "mina")
    await api.standin.approve(request.id, "cdao")
    outcome = await finish(client)
    return outcome.code, outcome.out


async def test_the_artifact_is_asked_for_and_its_approval_passes(
    api: Served, tmp_path: Path
) -> None:
    code, out = await _approved(api, tmp_path, OURS)
    assert code == 0, out
    (held,) = api.standin.requests.values()
    assert held.body.artifact == Artifact(digest=OURS)
    assert f"{OURS} is the approved artifact" in out


async def test_an_approval_of_another_artifact_is_not_a_pass(api: Served, tmp_path: Path) -> None:
    code, out = await _approved(api, tmp_path, OTHER)
    assert code == 1, out
    assert f"MISMATCH: the approved artifact is {OTHER}, not {OURS}" in out
    summary = (tmp_path / "summary.md").read_text()
    assert f"| Artifact | MISMATCH: the approved artifact is {OTHER}" in summary


async def test_status_checks_the_artifact_too(api: Served, tmp_path: Path) -> None:
    code, _ = await _approved(api, tmp_path, OURS)
    request = api.standin.only()
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    ours = await run("status", request.id, "--artifact", OURS, "--url", api.url, env=env)
    other = await run("status", request.id, "--artifact", OTHER, "--url", api.url, env=env)
    assert (code, ours.code, other.code) == (0, 0, 1), (ours, other)
    assert "this artifact was not approved" in other.out
