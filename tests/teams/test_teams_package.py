"""`signoff teams package`: the app package Teams accepts, for the configured bot."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from bot.cli import main
from tests.teams_standin import APP_ID
from workflows.grammar import USAGE


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_package_names_our_bot_and_the_commands_it_understands(tmp_path: Path) -> None:
    out = tmp_path / "signoff.zip"
    assert main(["teams", "package", "--app-id", APP_ID, "-o", str(out)]) == 0
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert _png_size(package.read("color.png")) == (192, 192)
        assert _png_size(package.read("outline.png")) == (32, 32)
    assert manifest["id"] == APP_ID
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert set(bot["scopes"]) >= {"personal", "team"}
    commands = bot["commandLists"][0]["commands"]
    assert {c["title"] for c in commands} <= set(USAGE)
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands)
    assert "{{" not in json.dumps(manifest)


def test_the_app_id_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    out = tmp_path / "from-env.zip"
    assert main(["teams", "package", "-o", str(out)]) == 0
    with zipfile.ZipFile(out) as package:
        assert json.loads(package.read("manifest.json"))["id"] == APP_ID


@pytest.mark.parametrize("argv", [[], ["--app-id", "not-a-guid"]])
def test_without_a_valid_app_id_nothing_is_written(
    tmp_path: Path, argv: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "nothing.zip"
    assert main(["teams", "package", *argv, "-o", str(out)]) == 2
    assert not out.exists()
    assert "app id" in caplog.text
