"""The web UI's files: plain ES modules and CSS, no build toolchain.

``static/index.html`` names its assets as ``%ASSETS%/app.js``; this module replaces the
placeholder with ``/assets/<version>``, where the version is a digest of every file under
``static/assets/``. A changed file gives a new URL, so the assets may be cached for good
and only ``index.html`` is revalidated. Module imports inside the assets are relative, so
they resolve inside the same versioned directory and need no rewriting.

The release build runs this file as a script (stdlib only, no package imports), so the
controller needs nothing but Python to build the site nginx serves::

    python3 app/homerack/webui.py build OUT   # OUT/index.html, OUT/assets/<version>/...

The app serves the same files itself (``make dev``), see ``api/ui.py``.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
PLACEHOLDER = "%ASSETS%"


def asset_files(static: Path | None = None) -> list[Path]:
    assets = (static or STATIC) / "assets"
    return sorted(p for p in assets.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def asset_version(static: Path | None = None) -> str:
    """12 hex digits of a sha256 over every asset's relative path and content."""
    digest = hashlib.sha256()
    assets = (static or STATIC) / "assets"
    for path in asset_files(static):
        digest.update(path.relative_to(assets).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def render_index(static: Path | None = None, version: str | None = None) -> bytes:
    static = static or STATIC
    html = (static / "index.html").read_text(encoding="utf-8")
    if PLACEHOLDER not in html:
        raise ValueError(f"{static / 'index.html'} does not reference {PLACEHOLDER}")
    return html.replace(PLACEHOLDER, f"/assets/{version or asset_version(static)}").encode()


def build(out: Path, static: Path | None = None) -> str:
    """Write the site nginx serves: index.html and assets/<version>/. Returns the version."""
    static = static or STATIC
    version = asset_version(static)
    target = out / "assets" / version
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(static / "assets", target, ignore=shutil.ignore_patterns("__pycache__"))
    (out / "index.html").write_bytes(render_index(static, version))
    return version


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        sys.exit("usage: webui.py build OUT_DIR")
    print(build(Path(sys.argv[2])))
