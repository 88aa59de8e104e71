"""The web UI's files: versioned asset URLs, the site the release ships, and the app serving
the same files for ``make dev``. (What the UI does is tested in a browser: tests/e2e/.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import falcon.asgi
import falcon.testing
import pytest

from homerack import webui
from homerack.api import ui

ASSET_REF = re.compile(r'(?:src|href)="(/assets/[^"]+)"')
# Static imports and the dynamic import of a view: import ... from "./x.js", import("./x.js")
IMPORT = re.compile(r'(?:from\s+|import\s*\(\s*)["\'](\.{1,2}/[^"\'$]+)["\']')


@pytest.fixture
def static(tmp_path: Path) -> Path:
    copy = tmp_path / "static"
    shutil.copytree(webui.STATIC, copy)
    return copy


def test_the_version_follows_the_assets_content(static: Path) -> None:
    before = webui.asset_version(static)
    assert re.fullmatch(r"[0-9a-f]{12}", before)
    assert webui.asset_version(static) == before
    (static / "index.html").write_text((static / "index.html").read_text() + "\n")
    assert webui.asset_version(static) == before, "index.html is not an asset"
    app_js = static / "assets" / "app.js"
    app_js.write_text(app_js.read_text() + "\n// changed\n")
    assert webui.asset_version(static) != before


def test_the_built_site_references_only_files_it_contains(tmp_path: Path) -> None:
    # The release build runs webui.py as a plain script with the controller's Python.
    out = tmp_path / "www"
    run = subprocess.run(
        [sys.executable, str(Path(webui.__file__)), "build", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    version = run.stdout.strip()
    assert version == webui.asset_version()
    index = (out / "index.html").read_text()
    refs = ASSET_REF.findall(index)
    assert f"/assets/{version}/app.js" in refs and webui.PLACEHOLDER not in index
    for ref in refs:
        assert (out / ref.lstrip("/")).is_file(), ref
    assert sorted(p.name for p in (out / "assets").iterdir()) == [version]


def test_every_module_import_resolves_inside_the_assets() -> None:
    assets = webui.STATIC / "assets"
    modules = sorted(assets.rglob("*.js"))
    assert len(modules) >= 5
    for module in modules:
        for ref in IMPORT.findall(module.read_text()):
            target = (module.parent / ref).resolve()
            assert target.is_relative_to(assets) and target.is_file(), f"{module.name}: {ref}"
    views = {p.stem for p in (assets / "views").glob("*.js")}
    routed = set(
        re.findall(r'"(\w+)", (?:"\w+"|null), (?:"[^"]*"|null)\]', (assets / "app.js").read_text())
    )
    assert routed and routed <= views, f"routes without a view module: {routed - views}"


async def test_the_app_serves_the_page_and_its_versioned_assets(api) -> None:
    version = webui.asset_version()
    page = await api.get("/", role=None)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert f'src="/assets/{version}/app.js"' in page.text
    assert "Content-Security-Policy" in page.text and "script-src 'self'" in page.text

    asset = await api.get(f"/assets/{version}/app.js", role=None)
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    assert asset.content == (webui.STATIC / "assets" / "app.js").read_bytes()
    view = await api.get(f"/assets/{version}/views/signin.js", role=None)
    assert view.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/assets/000000000000/app.js",  # another release's assets
        "/assets/{v}/missing.js",
        "/assets/{v}/../webui.py",  # out of the assets directory
        "/assets/{v}/%2e%2e/%2e%2e/config.py",
    ],
)
async def test_anything_else_under_assets_is_404(api, path: str) -> None:
    result = await api.get(path.format(v=webui.asset_version()), role=None)
    assert result.status_code == 404


async def test_an_edited_asset_gets_a_new_url_at_once(monkeypatch, tmp_path) -> None:
    # make dev: edit a file, reload the page, get the new file (the old URL is cached for good).
    static = tmp_path / "static"
    shutil.copytree(webui.STATIC, static)
    monkeypatch.setattr(webui, "STATIC", static)
    app = falcon.asgi.App()
    for path, resource, _ in ui.routes():
        app.add_route(path, resource)
    async with falcon.testing.ASGIConductor(app) as client:
        before = webui.asset_version(static)
        assert f"/assets/{before}/" in (await client.simulate_get("/")).text
        (static / "assets" / "app.js").write_text("// edited\n")
        after = webui.asset_version(static)
        assert after != before
        assert f"/assets/{after}/" in (await client.simulate_get("/")).text
        assert (await client.simulate_get(f"/assets/{after}/app.js")).text == "// edited\n"
        assert (await client.simulate_get(f"/assets/{before}/app.js")).status_code == 404
