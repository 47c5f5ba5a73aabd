"""`signoff policy check` on files made to stall or exhaust it: real processes, measured."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_POLICY, ROOT
from tests.core.test_policy import alias_bomb
from tests.serve_process import _env, signoff

PEAK_BYTES = 200 * 1024 * 1024


def _limit_address_space() -> None:
    # Only a guard for the machine if the bound regressed: the peak is measured, not this.
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


# The check reports its own high-water mark: a forked child's rusage would also count the
# test process's memory from before exec, which Linux carries over in ru_maxrss.
MEASURED_CHECK = """
import sys
from bot.cli import main
try:
    code = main(["policy", "check", sys.argv[1]])
finally:
    with open("/proc/self/status") as status, open(sys.argv[2], "w") as peak:
        peak.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
sys.exit(code)
"""


def _check_measured(tmp_path: Path, policy: Path) -> tuple[int, str, int]:
    """Exit code, output and peak resident bytes of one `signoff policy check` process."""
    out, peak = tmp_path / "check.out", tmp_path / "check.peak"
    with out.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", MEASURED_CHECK, str(policy), str(peak)],
            env=_env(tmp_path), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
            preexec_fn=_limit_address_space,
        )  # fmt: skip
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"policy check still running after 30 s: {out.read_text()}") from None
    return process.returncode, out.read_text(), int(peak.read_text()) * 1024  # VmHWM is in kB


def test_policy_check_on_a_3_kb_alias_bomb_answers_file_line_within_200_mb(
    tmp_path: Path,
) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    assert bomb.stat().st_size >= 3000
    code, output, peak = _check_measured(tmp_path, bomb)
    print(f"alias bomb: exit {code}, peak memory {peak / 2**20:.1f} MiB")
    assert code == 1, output
    assert output.startswith(f"{bomb}:4: aliases here stand for more than 10000 values")
    assert "Traceback" not in output
    assert peak < PEAK_BYTES


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("version: 1\npeople: " + "[" * 2000 + "]" * 2000 + "\n", 2, "nesting depth"),
        (
            "version: 1\npeople:\n" + "".join(f"{' ' * i}- \n" for i in range(1000)),
            66,
            "values are nested deeper than 64 levels",
        ),
        ("version: 1\npeople: &p\n  mina: *p\n", 3, "the alias *p refers to a value that contains"),
        ("version: 1\npeople: *nobody\n", 2, "the alias *nobody names no anchor"),
    ],
    ids=["2000-deep-flow", "1000-deep-block", "recursive-alias", "undefined-alias"],
)
def test_policy_check_reports_deep_nesting_and_bad_aliases_as_file_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    done = signoff(tmp_path, "policy", "check", str(policy))
    assert done.returncode == 1, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"{policy}:{line}: ") and reason in first, done.stdout
    assert "Traceback" not in done.stderr


def test_policy_check_refuses_a_file_over_1_mib_with_file_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(b"version: 1\n" + b"#" * (2 * 1024 * 1024))
    done = signoff(tmp_path, "policy", "check", str(policy))
    assert done.returncode == 1
    assert done.stdout.startswith(f"{policy}:1: the file is larger than 1 MiB")


def test_policy_check_refuses_a_review_cycle_of_999999_weeks_with_file_line(
    tmp_path: Path,
) -> None:
    example = EXAMPLE_POLICY.read_text(encoding="utf-8")
    line = next(n for n, text in enumerate(example.splitlines(), 1) if "review_every: 30d" in text)
    policy = tmp_path / "policy.yaml"
    policy.write_text(example.replace("review_every: 30d", "review_every: 999999w"), "utf-8")
    done = signoff(tmp_path, "policy", "check", str(policy))
    assert done.returncode == 1
    assert done.stdout.startswith(
        f"{policy}:{line}: tiers.high.review_every: '999999w' is longer than ten years"
    )
