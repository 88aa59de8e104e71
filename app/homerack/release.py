"""Which release is running: ``release.json``, written by the deployment.

The deployment installs each release in its own directory with its own venv
(/opt/homerack/releases/<id>/venv) and writes ``release.json`` next to that venv::

    {"id": "20261129-201500-1ff41a7", "commit": "1ff41a7...", "dirty": false,
     "built_at": "2026-11-29T20:15:00Z"}

HOMERACK_RELEASE_FILE overrides the path. Without the file (development, tests) the
release is None; a missing or broken file never stops the app, it only says so.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path

RELEASE_FILE_ENV = "HOMERACK_RELEASE_FILE"
_MAX_BYTES = 64 * 1024

log = logging.getLogger("homerack.release")


def release_file() -> Path:
    override = os.environ.get(RELEASE_FILE_ENV, "").strip()
    return Path(override) if override else Path(sys.prefix).parent / "release.json"


def parse(raw: bytes) -> dict:
    """The release fields from the file's bytes; ValueError if it is not a release."""
    doc = json.loads(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
        raise ValueError('not a JSON object with a non-empty string "id"')
    release = {
        "id": doc["id"],
        "commit": doc.get("commit"),
        "dirty": doc.get("dirty", False),
        "built_at": doc.get("built_at"),
    }
    for key in ("commit", "built_at"):
        if release[key] is not None and not isinstance(release[key], str):
            raise ValueError(f'"{key}" must be a string')
    if not isinstance(release["dirty"], bool):
        raise ValueError('"dirty" must be true or false')
    return release


@functools.cache  # read once per process: the release directory never changes under it
def _load(path: Path) -> dict | None:
    try:
        with path.open("rb") as f:
            return parse(f.read(_MAX_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        log.warning("ignoring the release file %s: %s", path, exc)
        return None


def current() -> dict | None:
    """This process's release ({"id", "commit", "dirty", "built_at"}), or None."""
    release = _load(release_file())
    return dict(release) if release else None
