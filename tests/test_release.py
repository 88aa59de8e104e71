"""Release provenance: release.json next to the venv, in /api/health and --version."""

import json
import logging

import falcon.testing
import pytest
from helpers import token

from homerack import __version__, release
from homerack.api.app import create_app
from homerack.cli import main

RELEASE = {
    "id": "20261129-201500-1ff41a7",
    "commit": "1ff41a7c0ffee",
    "dirty": False,
    "built_at": "2026-11-29T20:15:00Z",
}


async def _health(config) -> tuple[dict, dict]:
    async with falcon.testing.ASGIConductor(create_app(config)) as client:
        health = await client.simulate_get("/api/health")
        detailed = await client.simulate_get(
            "/api/health/detailed", headers={"Authorization": f"Bearer {token('admin')}"}
        )
    assert health.status_code == detailed.status_code == 200
    return health.json, detailed.json


async def test_health_shows_the_release(config, monkeypatch, tmp_path):
    path = tmp_path / "release.json"
    path.write_text(json.dumps({**RELEASE, "extra": "ignored"}))
    monkeypatch.setenv("HOMERACK_RELEASE_FILE", str(path))
    health, detailed = await _health(config)
    assert health == {"status": "ok", "version": __version__, "release": RELEASE}
    assert detailed["release"] == RELEASE and detailed["version"] == __version__
    # The DB pool's figures (the fixture's pool of 2; the detailed check itself used one).
    database = detailed["database"]
    assert database["pool_size"] == 2 and 1 <= database["pool_threads"] <= 2
    assert database["queued"] == 0


async def test_no_release_file_is_null(config, monkeypatch, tmp_path):
    monkeypatch.setenv("HOMERACK_RELEASE_FILE", str(tmp_path / "absent.json"))
    health, detailed = await _health(config)
    assert health["release"] is None and detailed["release"] is None


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"commit": "abc"}',
        b'{"id": ""}',
        b'{"id": "r1", "dirty": "no"}',
        b'{"id": "r1", "commit": 42}',
        b"\xff\xfe",
    ],
)
async def test_a_broken_release_file_is_null_and_a_warning(
    config, monkeypatch, tmp_path, caplog, content
):
    path = tmp_path / "release.json"
    path.write_bytes(content)
    monkeypatch.setenv("HOMERACK_RELEASE_FILE", str(path))
    caplog.set_level(logging.WARNING, logger="homerack.release")
    health, _ = await _health(config)
    assert health["release"] is None
    assert any(str(path) in r.getMessage() for r in caplog.records)


def test_unreadable_release_file_is_null(monkeypatch, tmp_path):
    monkeypatch.setenv("HOMERACK_RELEASE_FILE", str(tmp_path))  # a directory: cannot be read
    assert release.current() is None


def test_default_path_is_next_to_the_venv(monkeypatch, tmp_path):
    monkeypatch.delenv("HOMERACK_RELEASE_FILE", raising=False)
    monkeypatch.setattr("sys.prefix", str(tmp_path / "venv"))
    assert release.release_file() == tmp_path / "release.json"
    (tmp_path / "release.json").write_text(json.dumps({"id": "r7"}))
    assert release.current() == {"id": "r7", "commit": None, "dirty": False, "built_at": None}


@pytest.mark.parametrize("present", [True, False])
def test_version_names_the_release(monkeypatch, tmp_path, capsys, present):
    path = tmp_path / "release.json"
    if present:
        path.write_text(json.dumps(RELEASE))
    monkeypatch.setenv("HOMERACK_RELEASE_FILE", str(path))
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    expected = f"homerack {__version__}" + (f" (release {RELEASE['id']})" if present else "")
    assert capsys.readouterr().out.strip() == expected
