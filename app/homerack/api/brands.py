"""/api/brands and the brand logo upload."""

from __future__ import annotations

import falcon

from ..domain.errors import NotFound
from ..domain.schemas import Brand, BrandIn
from ..storage import catalog
from ..uploads import sanitize_image
from .common import CATALOG_WRITE, Crud, CrudResource, Filter

CRUD = Crud("brand", "brands", BrandIn, catalog.list_brands, catalog.create_brand,
            catalog.get_brand, catalog.update_brand, catalog.delete_brand,
            (Filter("q", str, "name contains (case-insensitive)"),),
            cache="catalog", invalidates=CATALOG_WRITE, out_model=Brand)


class LogoResource:
    openapi = {
        "on_put": {"summary": "Upload the brand's logo (PNG, JPEG or WebP; raw body)",
                   "tags": ["brands"], "binary_body": True, "response": Brand,
                   "responses": {"200": "the brand with its new logo_url",
                                 "413": "larger than HOMERACK_MAX_LOGO_BYTES",
                                 "422": "not a still PNG, JPEG or WebP image of at most "
                                        "4096x4096 px, or damaged",
                                 "503": "busy decoding other uploads (see Retry-After)"}},
        "on_delete": {"summary": "Remove the brand's logo", "tags": ["brands"],
                      "response": Brand},
    }

    def __init__(self, rt, store):
        self.rt = rt
        self.store = store

    async def on_put(self, req, resp, id: int) -> None:
        limit = self.rt.config.max_logo_bytes
        if req.content_length is not None and req.content_length > limit:
            raise falcon.HTTPContentTooLarge(
                description=f"the logo is {req.content_length} bytes; the limit is {limit}")
        if not await self.rt.run(catalog.brand_exists, id):
            raise NotFound("brand", id)
        data = await req.stream.read(limit + 1)  # bounded even without Content-Length
        if len(data) > limit:
            raise falcon.HTTPContentTooLarge(description=f"the logo exceeds {limit} bytes")
        clean, ext = await self.rt.decoder.run(sanitize_image, data)
        url = await self.rt.offload(self.store.save, clean, ext)
        resp.media = await self._set(id, url)

    async def on_delete(self, req, resp, id: int) -> None:
        resp.media = await self._set(id, None)

    async def _set(self, brand_id: int, url: str | None) -> dict:
        brand, unused = await self.rt.run(catalog.set_logo, brand_id, url)
        # Rack details and device lists carry logo_url: they go stale with the brand.
        await self.rt.cache.invalidate(*CATALOG_WRITE)
        if unused:
            await self.rt.offload(self.store.delete, unused)
        return brand


class BrandResource(CrudResource):
    """Deleting a brand also removes its logo file when no other brand shares it."""

    def __init__(self, rt, store):
        super().__init__(rt, CRUD)
        self.store = store

    async def on_delete_item(self, req, resp, id: int) -> None:
        unused = await self._write(catalog.delete_brand, id)
        if unused:
            await self.rt.offload(self.store.delete, unused)
        resp.status = falcon.HTTP_204


def routes(rt, store) -> list[tuple]:
    brands = BrandResource(rt, store)
    return [("/api/brands", brands, None), ("/api/brands/{id:int}", brands, "item"),
            ("/api/brands/{id:int}/logo", LogoResource(rt, store), None)]
