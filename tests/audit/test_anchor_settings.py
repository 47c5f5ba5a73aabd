"""Anchoring's settings: authorities without roots, and a roots file without a certificate,
stop `serve` before it starts, saying what to set."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.scheduling.anchoring import anchor_config
from bot.settings import Settings
from tests.tsa_standin import make_authority


def test_authorities_need_their_roots(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SIGNOFF_TSA_URLS is set without SIGNOFF_TSA_ROOTS"):
        Settings(signoff_tsa_urls="https://tsa.example/")
    empty = tmp_path / "roots.pem"
    empty.write_text("not a certificate\n")
    settings = Settings(signoff_tsa_urls="https://tsa.example/", signoff_tsa_roots=empty)
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        anchor_config(settings)
    missing = Settings(signoff_tsa_urls="https://a/", signoff_tsa_roots=tmp_path / "none.pem")
    with pytest.raises(ValueError, match="cannot read the TSA roots file"):
        anchor_config(missing)


def test_the_settings_make_the_job(tmp_path: Path) -> None:
    assert anchor_config(Settings()) is None  # no authority: no anchoring
    roots = make_authority(tmp_path / "ca", "Settings TSA")
    settings = Settings(
        signoff_tsa_urls=" https://a.example/tsa , https://b.example/ ",
        signoff_tsa_roots=roots,
        signoff_anchor_every=50,
        signoff_anchor_seconds=600,
        signoff_anchor_channel="ai-governance",
        signoff_anchor_copy=tmp_path,
    )
    roots.write_text(roots.read_text() * 2)  # a bundle that repeats its root
    config = anchor_config(settings)
    assert config is not None and len(config.roots) == 1
    assert config.tsa_urls == ("https://a.example/tsa", "https://b.example/")
    assert (config.every, config.seconds, config.channel) == (50, 600, "ai-governance")
    assert config.copy_to == tmp_path and config.check_seconds == 15
