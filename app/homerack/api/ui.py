"""The web UI from the app itself, for ``make dev``: ``/`` and ``/assets/<version>/...``.

In a deployment nginx serves the same files from the release (``webui.py build``) and
these routes are never reached; the cache headers are the same either way.
"""

from __future__ import annotations

import mimetypes

import falcon

from .. import webui

IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}


class Assets:
    """The current asset version, recomputed when a file changes (an edit during
    ``make dev`` shows on the next reload, under a new URL)."""

    def __init__(self):
        self._stamp: tuple = ()
        self._version = ""

    def version(self) -> str:
        stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in webui.asset_files())
        if stamp != self._stamp:
            self._stamp, self._version = stamp, webui.asset_version()
        return self._version


class IndexResource:
    """index.html, revalidated on every load so a new release's assets are picked up."""

    public = True  # no token: the page signs in itself
    rate_limited = False

    def __init__(self, assets: Assets):
        self.assets = assets

    async def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = ["no-cache"]
        resp.data = webui.render_index(version=self.assets.version())


class AssetResource:
    """A file under static/assets/, only under the current version (others are 404, as
    nginx answers for a release that is gone)."""

    public = True
    rate_limited = False

    def __init__(self, assets: Assets):
        self.assets = assets

    async def on_get(self, req, resp, version: str, path: str):
        root = webui.STATIC / "assets"
        file = (root / path).resolve()
        if version != self.assets.version() or not file.is_relative_to(root) or not file.is_file():
            raise falcon.HTTPNotFound()
        resp.content_type = TYPES.get(file.suffix) or (
            mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        resp.cache_control = [IMMUTABLE]
        resp.data = file.read_bytes()


def routes():
    assets = Assets()
    index = IndexResource(assets)
    return [
        ("/", index, None),
        ("/index.html", index, None),
        ("/assets/{version}/{path:path}", AssetResource(assets), None),
    ]
