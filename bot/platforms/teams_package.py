"""`signoff teams package`: the Teams app package (manifest and icons) for one bot registration.

Imports no adapter code: it reads the manifest template from `adapters/teams/manifest/` and
fills in the app id and the command list from the grammar, so the menu Teams shows is the
one Signoff understands. The icons are drawn here, so the repository carries no binaries.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

from workflows.grammar import EXPLAIN, USAGE

TEMPLATE = Path(__file__).resolve().parents[2] / "adapters" / "teams" / "manifest"
APP_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
# Teams shows at most ten commands, each title up to 32 and description up to 128 characters.
TEAMS_COMMANDS = (
    "request",
    "deploy",
    "status",
    "reviews",
    "review",
    "incident",
    "raci",
    "cancel",
    "help",
)


def manifest(app_id: str) -> dict[str, object]:
    """The manifest for this app id; raises ValueError for an id Teams would refuse."""
    if not APP_ID.match(app_id):
        raise ValueError(
            f"{app_id!r} is not an app id: use the Application (client) ID of the bot's Entra "
            "registration, a GUID such as 00000000-0000-0000-0000-000000000000"
        )
    text = (TEMPLATE / "manifest.json").read_text(encoding="utf-8")
    commands = [
        {"title": name, "description": f"{EXPLAIN[name]} {USAGE[name]}"[:128]}
        for name in TEAMS_COMMANDS
    ]
    text = text.replace('"{{COMMANDS}}"', json.dumps(commands)).replace("{{APP_ID}}", app_id)
    loaded: dict[str, object] = json.loads(text)
    return loaded


def write_package(app_id: str, out: Path) -> Path:
    """Writes the zip Teams' "Upload a custom app" takes; returns its path."""
    content = manifest(app_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(content, indent=2))
        package.writestr("color.png", _png(192, (0x1F, 0x4E, 0x79, 0xFF), (0xFF, 0xFF, 0xFF, 0xFF)))
        package.writestr("outline.png", _png(32, (0, 0, 0, 0), (0xFF, 0xFF, 0xFF, 0xFF)))
    return out


def _png(size: int, background: tuple[int, ...], mark: tuple[int, ...]) -> bytes:
    """A square RGBA PNG: `background` with a check mark drawn in `mark`."""

    def on_mark(x: int, y: int) -> bool:
        u, v = x / size, y / size
        width = 0.06
        short = abs(v - (u + 0.25)) < width and 0.2 <= u <= 0.42
        long = abs(v - (1.09 - u)) < width and 0.4 <= u <= 0.8
        return short or long

    rows = b"".join(
        b"\x00" + b"".join(bytes(mark if on_mark(x, y) else background) for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
