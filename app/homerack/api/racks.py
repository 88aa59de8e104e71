"""/api/racks: racks with their utilization; placed devices on the item route."""

from __future__ import annotations

from ..domain.schemas import Rack, RackDetail, RackIn, RackSummary
from ..storage import racks
from .common import RACKS_WRITE, Crud, CrudResource, Filter, crud_routes

CRUD = Crud(
    kind="rack",
    plural="racks",
    model=RackIn,
    list=racks.list_racks,
    create=racks.create_rack,
    get=racks.get_rack,
    update=racks.update_rack,
    delete=racks.delete_rack,
    filters=(
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
    return crud_routes("/api/racks", CrudResource(rt.run, rt.cache, CRUD))
