"""/api/racks: racks with their utilization; placed devices on the item route."""

from __future__ import annotations

from ..domain.schemas import Rack, RackDetail, RackIn, RackSummary
from ..storage import racks
from .common import RACKS_WRITE, Crud, Filter, crud_routes

CRUD = Crud(
    "rack",
    "racks",
    RackIn,
    racks.list_racks,
    racks.create_rack,
    racks.get_rack,
    racks.update_rack,
    racks.delete_rack,
    (
        Filter("q", str, "name contains (case-insensitive)"),
        Filter("location", str, "exact location (case-insensitive)"),
    ),
    cache="racks",
    invalidates=RACKS_WRITE,
    out_model=Rack,
    list_model=RackSummary,
    item_model=RackDetail,
)


def routes(rt) -> list[tuple]:
    return crud_routes(rt, "/api/racks", CRUD)
