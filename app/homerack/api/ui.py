"""The web UI from the app itself, for ``make dev``: ``/`` and ``/assets/<version>/...``.

In a deployment nginx serves the same files from the release (``webui.py build``) and
these routes are never reached; the cache headers are the same either way.
"""

from __future__ import annotations

import mimetypes

import falcon

from .. import webui

IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
         ".json": "application/json"}


class IndexResource:
    """index.html, revalidated on every load so a new release's assets are picked up."""

    public = True          # no token: the page signs in itself
    rate_limited = False

    def __init__(self):
        self.version = webui.asset_version()
        self.body = webui.render_index(version=self.version)

    async def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = ["no-cache"]
        resp.data = self.body


class AssetResource:
    """A file under static/assets/, only under the current version (others are 404, as
    nginx answers for a release that is gone)."""

    public = True
    rate_limited = False

    def __init__(self, version: str):
        self.version = version
        self.root = webui.STATIC / "assets"

    async def on_get(self, req, resp, version: str, path: str):
        file = (self.root / path).resolve()
        if version != self.version or not file.is_relative_to(self.root) or not file.is_file():
            raise falcon.HTTPNotFound()
        resp.content_type = TYPES.get(file.suffix) or (
            mimetypes.guess_type(file.name)[0] or "application/octet-stream")
        resp.cache_control = [IMMUTABLE]
        resp.data = file.read_bytes()


def routes():
    index = IndexResource()
    return [("/", index, None), ("/index.html", index, None),
            ("/assets/{version}/{path:path}", AssetResource(index.version), None)]
