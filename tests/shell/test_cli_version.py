"""`signoff --version` names the installed version, as `pip show signoff` does."""

from __future__ import annotations

from importlib import metadata

import pytest

from bot.cli import main


def test_version_prints_the_installed_version_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"signoff {metadata.version('signoff')}\n"
