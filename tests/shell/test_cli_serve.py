"""The `signoff` command as an operator runs it: real processes, real files, real HTTP."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_POLICY
from tests.serve_process import _env, _free_port, signoff

BAD_POLICY = EXAMPLE_POLICY.read_text(encoding="utf-8").replace("tier: high", "tier: extreme", 1)


def _bad_line() -> int:
    for number, line in enumerate(BAD_POLICY.splitlines(), start=1):
        if "tier: extreme" in line:
            return number
    raise AssertionError("the example policy has no high-tier system")


def test_policy_check_accepts_the_example(tmp_path: Path) -> None:
    done = signoff(tmp_path, "policy", "check", str(EXAMPLE_POLICY))
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout and "digest" in done.stdout


def test_policy_check_prints_file_line_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_POLICY, encoding="utf-8")
    done = signoff(tmp_path, "policy", "check", str(bad))
    assert done.returncode == 1
    assert done.stdout.startswith(f"{bad}:{_bad_line()}: ")
    assert "extreme" in done.stdout


def _health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
        return dict(json.loads(response.read()))


class Server:
    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    def wait_healthy(self, timeout: float = 30) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                return _health(self.port)
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"server never became healthy: {self.log.read_text()}")

    def wait_log(self, phrase: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if phrase in text:
                return text
            time.sleep(0.1)
        raise AssertionError(f"{phrase!r} not logged: {self.log.read_text()}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Server]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(EXAMPLE_POLICY.read_text(encoding="utf-8"), encoding="utf-8")
    upgraded = signoff(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=_env(tmp_path, PORT=str(port), SIGNOFF_POLICY=str(policy)),
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = Server(process, port, log)
    try:
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def test_serve_starts_and_keeps_the_last_good_policy_on_a_bad_reload(
    serve: Server, tmp_path: Path
) -> None:
    health = serve.wait_healthy()
    assert health["status"] == "ok"
    first_digest = health["policy_digest"]
    log = serve.wait_log("serving on")
    assert f"serving on http://127.0.0.1:{serve.port} (database" in log
    assert "Slack: disabled; set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in log
    assert "Teams: disabled; set MICROSOFT_APP_ID" in log
    assert "objects alive after startup left out of garbage collection" in serve.wait_log(
        "left out of garbage collection"
    )

    policy = tmp_path / "policy.yaml"
    policy.write_text(BAD_POLICY, encoding="utf-8")
    serve.process.send_signal(signal.SIGHUP)
    serve.wait_log(f"{policy}:{_bad_line()}:")
    assert _health(serve.port)["policy_digest"] == first_digest

    policy.write_text(EXAMPLE_POLICY.read_text(encoding="utf-8") + "\n# edited\n", "utf-8")
    serve.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while _health(serve.port)["policy_digest"] == first_digest:
        assert time.monotonic() < deadline, serve.log.read_text()
        time.sleep(0.1)


def one_mib_policy() -> str:
    """The example policy with its first system copied until the file is just under 1 MiB."""
    example = EXAMPLE_POLICY.read_text(encoding="utf-8")
    head, _, systems = example.partition("systems:\n")
    body = systems.split("\n\n")[0].split("\n", 1)[1]
    parts, size, number = [head, "systems:\n"], len(head) + 9, 0
    while size < 1024 * 1024 - 2048:
        system = f"  system-{number:05d}:\n{body}\n"
        parts.append(system)
        size, number = size + len(system), number + 1
    return "".join(parts)


def test_a_sighup_reload_of_a_1_mib_policy_keeps_healthz_answering(
    serve: Server, tmp_path: Path
) -> None:
    first_digest = serve.wait_healthy()["policy_digest"]
    big = one_mib_policy()
    assert 1000 * 1024 < len(big.encode()) <= 1024 * 1024
    (tmp_path / "policy.yaml").write_text(big, encoding="utf-8")
    latencies: list[float] = []
    digests: list[object] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            started = time.monotonic()
            digests.append(_health(serve.port)["policy_digest"])
            latencies.append(time.monotonic() - started)
            time.sleep(0.01)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        time.sleep(0.2)
        serve.process.send_signal(signal.SIGHUP)
        serve.wait_log("policy reload: ", timeout=60)
        time.sleep(0.2)
    finally:
        stop.set()
        prober.join()
    print(f"/healthz during a 1 MiB reload: {len(latencies)} answers, max {max(latencies):.3f} s")
    assert digests[0] == first_digest and digests[-1] != first_digest
    assert "policy reload: failed" not in serve.log.read_text()
    assert max(latencies) < 1.0

    serve.process.send_signal(signal.SIGHUP)
    serve.wait_log(f"policy reload: unchanged, {str(digests[-1])[:12]} stays in force", 60)


def test_a_second_server_on_the_same_port_says_so_in_one_line_and_writes_nothing(
    serve: Server, tmp_path: Path
) -> None:
    serve.wait_healthy()
    second = tmp_path / "second"
    second.mkdir()
    assert signoff(second, "db", "upgrade").returncode == 0
    done = signoff(second, "serve", PORT=str(serve.port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip().splitlines()[0]], (
        "one line, nothing more"
    )
    assert f"cannot listen on 127.0.0.1:{serve.port}: address already in use;" in done.stderr
    assert "Traceback" not in done.stderr and "serving on" not in done.stderr
    with sqlite3.connect(second / "signoff.db") as db:
        for table in ("ledger_entries", "risk_reviews", "outbox"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
    assert serve.wait_healthy()["status"] == "ok"


def test_serve_listens_on_host(tmp_path: Path) -> None:
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=_env(tmp_path, PORT=str(port), HOST="127.0.0.2"),
            cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    server = Server(process, port, log)
    try:
        server.wait_log(f"serving on http://127.0.0.2:{port} (database", timeout=30)
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.2:{port}/healthz", timeout=2) as r:
                    assert json.loads(r.read())["status"] == "ok"
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        with pytest.raises(OSError):
            _health(port)  # nothing listens on 127.0.0.1
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def test_serve_refuses_a_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_POLICY, encoding="utf-8")
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    done = signoff(tmp_path, "serve", SIGNOFF_POLICY=str(bad), PORT=str(_free_port()))
    assert done.returncode == 1
    assert f"{bad}:{_bad_line()}:" in done.stderr
    assert "refusing to start" in done.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    done = signoff(tmp_path, "serve", PORT=str(_free_port()))
    assert done.returncode != 0
    assert "signoff db upgrade" in done.stderr


@pytest.mark.parametrize("secret", ["", "   "])
def test_sig_15_serve_refuses_slack_without_a_signing_secret(tmp_path: Path, secret: str) -> None:
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    done = signoff(
        tmp_path, "serve", PORT=str(_free_port()), SLACK_BOT_TOKEN="xoxb-x",
        SLACK_SIGNING_SECRET=secret,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refusing to start: SLACK_SIGNING_SECRET is empty or blank" in done.stderr


def test_a_rotation_without_an_end_is_a_configuration_error(tmp_path: Path) -> None:
    done = signoff(tmp_path, "policy", "check", SLACK_PREVIOUS_SIGNING_SECRET="old-secret")
    assert done.returncode == 2
    assert "SLACK_PREVIOUS_SIGNING_SECRET_UNTIL" in done.stderr and "Traceback" not in done.stderr


def test_sweep_at_a_given_time(tmp_path: Path) -> None:
    assert signoff(tmp_path, "sweep").returncode == 1  # not migrated yet: says so
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    done = signoff(tmp_path, "sweep", "--now", "2026-11-02T09:00:00Z")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Sweep at 2026-11-02T09:00:00+00:00: 0 requests due")
    assert "3 first reviews scheduled" in done.stdout
    again = signoff(tmp_path, "sweep", "--now", "2026-11-02T09:01:00Z")
    assert "0 first reviews scheduled" in again.stdout
    bad = signoff(tmp_path, "sweep", "--now", "next tuesday")
    assert bad.returncode == 2 and "is not an RFC 3339 time" in bad.stderr
    assert "Traceback" not in bad.stderr
