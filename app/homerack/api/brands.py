"""/api/brands and the brand logo upload."""

from __future__ import annotations

import falcon

from ..domain.errors import NotFound
from ..domain.schemas import Brand, BrandIn
from ..storage import catalog
from ..uploads import logo_name, sanitize_image
from .common import CATALOG_WRITE, Crud, CrudResource, Filter, crud_routes
from .roles import require_role

# Deleting a brand also deletes its logo when no other brand shares it (same transaction).
CRUD = Crud(
    kind="brand",
    plural="brands",
    model=BrandIn,
    list=catalog.list_brands,
    create=catalog.create_brand,
    get=catalog.get_brand,
    update=catalog.update_brand,
    delete=catalog.delete_brand,
    filters=(Filter("q", str, "name contains (case-insensitive)"),),
    cache="catalog",
    invalidates=CATALOG_WRITE,
    out_model=Brand,
)


class LogoResource:
    openapi = {
        "on_put": {
            "summary": "Upload the brand's logo (PNG, JPEG or WebP; raw body)",
            "tags": ["brands"],
            "binary_body": True,
            "response": Brand,
            "responses": {
                "200": "the brand with its new logo_url",
                "413": "larger than HOMERACK_MAX_LOGO_BYTES",
                "422": "not a still PNG, JPEG or WebP image of at most 4096x4096 px, or damaged",
                "503": "busy decoding other uploads (see Retry-After)",
            },
        },
        "on_delete": {"summary": "Remove the brand's logo", "tags": ["brands"], "response": Brand},
    }

    def __init__(self, run, cache, decoder, max_bytes: int):
        self.run = run
        self.cache = cache
        self.decoder = decoder  # the worker's bounded image-decoding threads
        self.max_bytes = max_bytes  # HOMERACK_MAX_LOGO_BYTES

    @require_role("editor")
    async def on_put(self, req, resp, id: int) -> None:
        limit = self.max_bytes
        if req.content_length is not None and req.content_length > limit:
            raise falcon.HTTPContentTooLarge(
                description=f"the logo is {req.content_length} bytes; the limit is {limit}"
            )
        if not await self.run(catalog.brand_exists, id):
            raise NotFound("brand", id)
        data = await req.stream.read(limit + 1)  # bounded even without Content-Length
        if len(data) > limit:
            raise falcon.HTTPContentTooLarge(description=f"the logo exceeds {limit} bytes")
        clean, ext = await self.decoder.run(sanitize_image, data)
        resp.media = await self._set(id, (logo_name(clean, ext), clean))

    @require_role("editor")
    async def on_delete(self, req, resp, id: int) -> None:
        resp.media = await self._set(id, None)

    async def _set(self, brand_id: int, logo: tuple[str, bytes] | None) -> dict:
        brand = await self.run(catalog.set_logo, brand_id, logo)
        # Rack details and device lists carry logo_url: they go stale with the brand.
        await self.cache.invalidate(*CATALOG_WRITE)
        return brand


def routes(rt) -> list[tuple]:
    return [
        *crud_routes("/api/brands", CrudResource(rt.run, rt.cache, CRUD)),
        (
            "/api/brands/{id:int}/logo",
            LogoResource(rt.run, rt.cache, rt.decoder, rt.config.max_logo_bytes),
            None,
        ),
    ]
