"""/api/export and /api/import: the whole inventory as one JSON document."""

from __future__ import annotations

from ..domain.schemas import Imported, InventoryDoc, parse
from ..storage import transfer
from .common import CATALOG_WRITE, json_body


class ExportResource:
    openapi = {"on_get": {"summary": "Export the whole inventory (no users, no logo files)",
                          "tags": ["transfer"], "response": InventoryDoc}}

    def __init__(self, rt):
        self.rt = rt

    async def on_get(self, req, resp) -> None:
        resp.media = await self.rt.run(transfer.export_inventory)
        resp.downloadable_as = "homerack-inventory.json"


class ImportResource:
    """Replaces the whole inventory atomically: a document with any error changes nothing."""

    write_role = "admin"
    openapi = {"on_post": {"summary": "Replace the whole inventory with an exported document",
                           "tags": ["transfer"], "body": InventoryDoc, "response": Imported,
                           "responses": {"200": "counts of imported records",
                                         "422": "the document has errors; nothing changed"}}}

    def __init__(self, rt):
        self.rt = rt

    async def on_post(self, req, resp) -> None:
        doc = parse(InventoryDoc, await json_body(req))
        imported = await self.rt.run(transfer.import_inventory, doc)
        await self.rt.cache.invalidate(*CATALOG_WRITE)
        resp.media = {"imported": imported}


def routes(rt) -> list[tuple]:
    return [("/api/export", ExportResource(rt), None), ("/api/import", ImportResource(rt), None)]
