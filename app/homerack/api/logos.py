"""``GET /uploads/logos/<sha256>.<ext>``: the brand logos, from the database.

The public URL of a logo is the same as when nginx served the files from disk. A name is
the SHA-256 of the bytes, so what it answers never changes: browsers and nginx's cache
may keep it for a year, and the digest is the ETag. Left out of the OpenAPI document,
like the web UI's files: it serves images, not JSON.
"""

from __future__ import annotations

import falcon

from ..domain.errors import NotFound
from ..storage import logos
from ..uploads import is_logo_name
from .ui import IMMUTABLE


class LogoFileResource:
    public = True  # an <img> sends no token; the names are unguessable digests
    # Rate limited like the API (the default): unlike the UI's files, each one is a read
    # of the database.

    def __init__(self, run):
        self.run = run

    async def on_get(self, req, resp, name: str) -> None:
        if not is_logo_name(name):  # before the database: junk never reaches it
            raise falcon.HTTPNotFound(
                description="no such logo; logos are /uploads/logos/<sha256>.<png|jpg|webp>"
            )
        logo = await self.run(logos.fetch_logo, name)
        if logo is None:
            raise NotFound("logo", name)
        digest = name.split(".", 1)[0]
        resp.etag = digest  # Falcon quotes it: a strong validator
        resp.cache_control = [IMMUTABLE]
        resp.content_type = logo["media_type"]
        resp.set_header("X-Content-Type-Options", "nosniff")
        if any(tag == "*" or str(tag) == digest for tag in req.if_none_match or ()):
            resp.status = falcon.HTTP_304
            return
        resp.data = logo["data"]

    on_head = on_get  # Falcon sends the headers of GET without the body


def routes(rt) -> list[tuple]:
    return [("/uploads/logos/{name}", LogoFileResource(rt.run), None)]
