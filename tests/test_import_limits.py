"""Bounded imports: a large real inventory round-trips, an oversized document is a 413
read no further than the cap, and a huge broken one gets a small 422."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import falcon.testing
import jinja2
import orjson
import pytest
import yaml
from helpers import Api, token

from homerack.api.app import create_app
from homerack.config import Config
from homerack.domain.errors import MAX_LISTED, STOP_AFTER

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("big_inventory", ROOT / "scripts/big-inventory.py")
big_inventory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(big_inventory)

DEFAULT_CAP = Config.__dataclass_fields__["max_import_bytes"].default


def _comparable(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("exported_at", "homerack_version")}


async def _export(api) -> tuple[dict, int]:
    result = await api.get("/api/export", role="viewer")
    assert result.status_code == 200
    return result.json, len(result.content)


async def test_a_large_inventory_exports_and_reimports(api):
    doc = big_inventory.build(racks=60, per_rack=42, cables=3000)
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 200, result.text[:2000]
    assert result.json["imported"] == {
        "brands": 18,
        "device_types": 60,
        "racks": 60,
        "devices": 2520,
        "connections": 3000,
    }
    exported, size = await _export(api)
    assert _comparable(exported) == _comparable({**doc, "version": 2})
    # The default cap leaves ample room above a large homelab.
    assert size * 8 < DEFAULT_CAP, size
    again = await api.post("/api/import", json=exported)
    assert again.status_code == 200, again.text[:2000]
    assert _comparable((await _export(api))[0]) == _comparable(exported)


@pytest.fixture
async def small_cap_api(config):
    """The app with a 64 KiB import cap, and its raw ASGI callable."""
    app = create_app(dataclasses.replace(config, max_import_bytes=64 * 1024))
    async with falcon.testing.ASGIConductor(app) as conductor:
        yield Api(conductor), app


async def _raw_post(app, chunks: list[bytes], content_length: int | None) -> tuple[int, dict, int]:
    """POST /api/import through the ASGI interface, body in ``chunks``; returns the status,
    the JSON answer and how many body bytes the app pulled."""
    headers = [
        (b"authorization", f"Bearer {token('admin')}".encode()),
        (b"content-type", b"application/json"),
        (b"host", b"test"),
    ]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/import",
        "raw_path": b"/api/import",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    pending, pulled, sent = list(chunks), 0, []

    async def receive():
        nonlocal pulled
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, orjson.loads(body), pulled


async def test_an_import_over_the_cap_is_413_and_read_no_further(small_cap_api):
    api, app = small_cap_api
    await api.create("/api/racks", {"name": "Keep", "u_height": 12})
    before, _ = await _export(api)
    doc = big_inventory.build(racks=8, per_rack=42, cables=100)
    body = orjson.dumps(doc)
    assert len(body) > 64 * 1024
    chunks = [body[i : i + 16384] for i in range(0, len(body), 16384)]

    # Declared too large: refused with no read past the first event, which Falcon itself
    # takes before routing (to see a disconnect).
    status, answer, pulled = await _raw_post(app, chunks, len(body))
    assert status == 413
    assert f"the document is {len(body)} bytes; the limit is {64 * 1024}" in answer["description"]
    assert "HOMERACK_MAX_IMPORT_BYTES" in answer["description"]
    assert pulled == len(chunks[0])

    # No Content-Length (chunked): read only up to the cap.
    status, answer, pulled = await _raw_post(app, chunks, None)
    assert status == 413
    assert f"larger than the limit of {64 * 1024} bytes" in answer["description"]
    assert 64 * 1024 < pulled <= 64 * 1024 + 16384 < len(body)

    assert _comparable((await _export(api))[0]) == _comparable(before)
    # Under the cap, the same route takes the document.
    small = big_inventory.build(racks=1, per_rack=10, cables=5)
    assert (await api.post("/api/import", json=small)).status_code == 200


async def test_a_huge_broken_document_gets_a_small_422(api):
    await api.create("/api/racks", {"name": "Keep", "u_height": 12})
    before, _ = await _export(api)
    empties = (2 * 1024 * 1024) // 3
    body = (
        b'{"format": "homerack-inventory", "version": 2, "devices": ['
        + b",".join([b"{}"] * empties)
        + b"]}"
    )
    assert len(body) >= 2 * 1024 * 1024
    result = await api.post("/api/import", body=body, headers={"Content-Type": "application/json"})
    assert result.status_code == 422
    assert len(result.content) < 16 * 1024, len(result.content)
    answer = result.json
    assert len(answer["errors"]) == MAX_LISTED
    assert answer["errors"][0] == {"field": "devices[0].name", "reason": "is required"}
    # Checking stopped early: at least STOP_AFTER found, far fewer than the 2M problems.
    assert STOP_AFTER <= answer["error_count"] < STOP_AFTER + 1000
    assert answer["error_count_exact"] is False
    assert (
        f"and {answer['error_count'] - MAX_LISTED} more problems not listed"
        in (answer["description"])
    )
    assert _comparable((await _export(api))[0]) == _comparable(before)


async def test_a_broken_document_counts_every_problem(api):
    """Under the stop, the count is exact: 50 empty devices miss 3 fields each, the rack
    list has a wrong type, the format is wrong."""
    doc = {"format": "netbox", "version": 2, "racks": "none", "devices": [{}] * 50}
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 422
    answer = result.json
    assert answer["error_count"] == 152 and answer["error_count_exact"] is True
    fields = [e["field"] for e in answer["errors"]]
    assert len(fields) == MAX_LISTED and fields[:2] == ["format", "racks"]
    assert fields[-1] == "devices[32].brand"
    assert answer["description"].endswith("and 52 more problems not listed")


def _nginx_bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", size).groups()
    return int(number) * 1024 ** " kmg".index(unit.lower() or " ")


def test_nginx_lets_through_every_import_the_app_accepts():
    nginx = yaml.safe_load((ROOT / "roles/nginx/defaults/main.yml").read_text())
    homerack = yaml.safe_load((ROOT / "roles/homerack/defaults/main.yml").read_text())
    site = yaml.safe_load((ROOT / "group_vars/all.yml").read_text())
    assert (
        homerack["homerack_max_import_bytes"] == site["homerack_max_import_bytes"] == (DEFAULT_CAP)
    )
    assert _nginx_bytes(nginx["nginx_import_max_body_size"]) >= DEFAULT_CAP
    # The deployment derives nginx's limit from the app's: check it for other values too.
    env = jinja2.Environment(autoescape=False)  # noqa: S701 - renders a size, not HTML
    derived = env.from_string(site["nginx_import_max_body_size"])
    for cap in (DEFAULT_CAP, 65536, 20_000_000, 256 * 1024 * 1024):
        assert _nginx_bytes(derived.render(homerack_max_import_bytes=cap)) >= cap
    # Every other route keeps the small limit.
    assert _nginx_bytes(nginx["nginx_client_max_body_size"]) <= 2 * 1024 * 1024
