"""The GitHub Action: its inputs and outputs are the contract's, its step runs the client with
the runner's Python and ID token (shown by running the step's script with bash, as a runner
would), an input is never script text, and the README's workflow uses it as it is."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.client.report import outputs
from tests.client.bare import finish, github_env, until
from tests.client.standin import Served
from tests.conftest import ROOT

INPUTS = {"url", "system", "activity", "version", "environment", "reason", "artifact", "timeout"}
OUTPUTS = {"request-id", "status", "approvers", "ledger-seq"}
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


def _action() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return document


def test_the_action_takes_the_contracts_inputs_and_gives_its_outputs() -> None:
    action = _action()
    assert set(action["inputs"]) == INPUTS
    required = {name for name, spec in action["inputs"].items() if spec.get("required")}
    assert required == {"url", "system", "version"}
    assert action["inputs"]["activity"]["default"] == "deploy"
    assert set(action["outputs"]) == OUTPUTS
    (step,) = action["runs"]["steps"]
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.{step['id']}.outputs.{name} }}}}"
    # The outputs the client writes are the ones the action declares.
    example = {
        "id": "r-1",
        "status": "approved",
        "quorum": {"approvals": []},
        "ledger": {"last_seq": 3},
    }
    assert set(outputs(example)) == OUTPUTS


def test_the_step_runs_the_client_with_the_runners_python_and_its_id_token() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    (step,) = action["runs"]["steps"]
    assert step["shell"] == "bash"
    assert '"$GITHUB_ACTION_PATH/bot/client/request.py"' in step["run"]
    assert "--oidc github --wait" in step["run"]
    assert "-I -S" in step["run"]
    # Inputs are read from the environment only, never pasted into the script.
    assert EXPRESSION.search(step["run"]) is None
    assert {m for v in step["env"].values() for m in EXPRESSION.findall(v)} == INPUTS


def _step_env(inputs: dict[str, str]) -> dict[str, str]:
    """The step's `env:` as a runner evaluates it, with the given inputs over the defaults."""
    action = _action()
    given = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    given.update(inputs)
    (step,) = action["runs"]["steps"]
    return {
        name: EXPRESSION.sub(lambda m: given[m.group(1)], value)
        for name, value in step["env"].items()
    }


async def _run_step(
    tmp_path: Path, api: Served, inputs: dict[str, str]
) -> asyncio.subprocess.Process:
    (step,) = _action()["runs"]["steps"]
    bin_dir = tmp_path / "bin"  # the runner's python3 is first on its PATH
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = github_env(tmp_path, api.url, GITHUB_ACTION_PATH=str(ROOT))
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return await asyncio.create_subprocess_exec(
        "bash", "-e", "-c", step["run"], env={**env, **_step_env(inputs)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_the_step_passes_on_approval_and_sets_the_outputs(
    api: Served, tmp_path: Path
) -> None:
    digest = "sha256:" + "9f" * 32
    inputs = {"url": api.url, "system": "credit-scoring", "version": "1.4.2"}
    inputs |= {"environment": "production", "artifact": digest, "timeout": "2m"}
    step = await _run_step(tmp_path, api, inputs)
    await until(lambda: api.standin.requests, "the request opened")
    request = api.standin.only()
    await api.standin.approve(request.id, "mina")
    await api.standin.approve(request.id, "cdao")
    outcome = await finish(step)
    assert outcome.code == 0, outcome
    assert api.standin.audiences == [api.url]  # it asked with the runner's ID token
    (held,) = api.standin.requests.values()
    assert (held.body.activity, held.body.environment) == ("deploy", "production")
    assert held.body.artifact is not None and held.body.artifact.digest == digest
    written = (tmp_path / "output.txt").read_text().splitlines()
    assert written == [
        f"request-id={request.id}",
        "status=approved",
        "approvers=mina,cdao",
        "ledger-seq=43",
    ]
    assert "**approved**" in (tmp_path / "summary.md").read_text()


async def test_an_input_is_never_run_as_script_text(api: Served, tmp_path: Path) -> None:
    hostile = f'$(touch {tmp_path}/ran) `touch {tmp_path}/ran` "; touch {tmp_path}/ran; "'
    inputs = {"url": api.url, "system": "credit-scoring", "version": "--wait"}
    inputs |= {"reason": hostile, "timeout": "1s"}
    outcome = await finish(await _run_step(tmp_path, api, inputs))
    assert outcome.code == 5, outcome  # still pending at its one second: not a pass
    (held,) = api.standin.requests.values()
    assert (held.body.reason, held.body.version) == (hostile, "--wait")
    assert not (tmp_path / "ran").exists()


def _readme_workflow() -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Gating a pipeline", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    workflows = [yaml.safe_load(block) for block in blocks if "jobs:" in block]
    assert len(workflows) == 1
    workflow: dict[str, Any] = workflows[0]
    return workflow


def test_the_readme_workflow_gates_its_production_deploy_on_the_action() -> None:
    deploy = _readme_workflow()["jobs"]["deploy"]
    assert deploy["environment"] == "production"
    assert deploy["permissions"]["id-token"] == "write"
    gate, *after = deploy["steps"]
    assert gate["uses"].split("@")[0].endswith("/signoff")
    assert set(gate["with"]) <= INPUTS
    assert {"url", "system", "version"} <= set(gate["with"])
    assert gate["with"]["environment"] == deploy["environment"]
    assert any("deploy" in step.get("run", "") for step in after)
    # Later steps read outputs through env, so no output is pasted into a script either.
    assert all("${{" not in step.get("run", "") for step in after)
