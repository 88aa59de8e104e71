"""/api/racks: racks, with placed devices and utilization on the item route."""

from __future__ import annotations

from ..domain.schemas import RackIn
from ..storage import racks
from .common import RACKS_WRITE, Crud, Filter, crud_routes

CRUD = Crud("rack", "racks", RackIn, racks.list_racks, racks.create_rack, racks.get_rack,
            racks.update_rack, racks.delete_rack,
            (Filter("q", str, "name contains (case-insensitive)"),
             Filter("location", str, "exact location (case-insensitive)")),
            cache="racks", invalidates=RACKS_WRITE)


def routes(rt) -> list[tuple]:
    return crud_routes(rt, "/api/racks", CRUD)
