"""/api/export and /api/import: the whole inventory as one JSON document."""

from __future__ import annotations

import io

import falcon

from ..domain.schemas import Imported, InventoryDoc, parse_inventory
from ..storage import transfer
from .common import CATALOG_WRITE, bounded_body
from .roles import require_role


class ExportResource:
    openapi = {
        "on_get": {
            "summary": "Export the whole inventory (no users, no logo files)",
            "tags": ["transfer"],
            "response": InventoryDoc,
        }
    }

    def __init__(self, run):
        self.run = run

    async def on_get(self, req, resp) -> None:
        resp.media = await self.run(transfer.export_inventory)
        resp.downloadable_as = "homerack-inventory.json"


class ImportResource:
    """Replaces the whole inventory atomically: a document with any error changes nothing."""

    openapi = {
        "on_post": {
            "summary": "Replace the whole inventory with an exported document",
            "tags": ["transfer"],
            "body": InventoryDoc,
            "response": Imported,
            "responses": {
                "200": "counts of imported records",
                "413": "larger than HOMERACK_MAX_IMPORT_BYTES",
                "422": "the document has errors (the first 100 "
                "listed, error_count counts them); nothing "
                "changed",
            },
        }
    }

    def __init__(self, run, offload, cache, max_bytes: int):
        self.run = run
        self.offload = offload  # blocking work off the event loop (Runtime.offload)
        self.cache = cache
        self.max_bytes = max_bytes  # HOMERACK_MAX_IMPORT_BYTES

    @require_role("admin")
    async def on_post(self, req, resp) -> None:
        data = await bounded_body(req, self.max_bytes, "HOMERACK_MAX_IMPORT_BYTES")
        # Decoding and validating a document of megabytes takes a while: off the loop.
        doc = await self.offload(_parse, req.options.media_handlers[falcon.MEDIA_JSON], data)
        imported = await self.run(transfer.import_inventory, doc)
        await self.cache.invalidate(*CATALOG_WRITE)
        resp.media = {"imported": imported}


def _parse(handler, data: bytes) -> InventoryDoc:
    # The app's JSON handler: the same checks (duplicate keys, NaN, depth) as other bodies.
    return parse_inventory(handler.deserialize(io.BytesIO(data), falcon.MEDIA_JSON, len(data)))


def routes(rt) -> list[tuple]:
    importer = ImportResource(rt.run, rt.offload, rt.cache, rt.config.max_import_bytes)
    return [("/api/export", ExportResource(rt.run), None), ("/api/import", importer, None)]
