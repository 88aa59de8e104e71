"""Query counts stay constant as data grows (no N+1), on both databases."""

import logging

import pytest
from pony.orm import set_sql_debug

from homerack.domain.schemas import ConnectionIn, DeviceIn, DeviceTypeIn, RackIn, parse
from homerack.storage import catalog, devices, racks
from homerack.storage.database import open_database


@pytest.fixture
def db(config):
    return open_database(config.database_url)


def _selects(caplog, fn, *args) -> int:
    caplog.clear()
    set_sql_debug(True)
    try:
        with caplog.at_level(logging.INFO, logger="pony.orm.sql"):
            fn(*args)
    finally:
        set_sql_debug(False)
    return sum(1 for r in caplog.records if r.getMessage().lstrip().upper().startswith("SELECT"))


def _add_devices(db, rack_id, start, count, type_ids):
    for i in range(count):
        devices.create_device(
            db,
            parse(
                DeviceIn,
                {
                    "name": f"dev{start + i}",
                    "device_type_id": type_ids[i % len(type_ids)],
                    "rack_id": rack_id,
                    "position_u": start + i,
                },
            ),
        )


def test_reads_do_not_grow_with_rows(db, caplog):
    type_ids = []
    for b in range(3):
        brand = catalog.create_brand(db, parse(catalog.BrandIn, {"name": f"brand{b}"}))
        for m in range(2):
            type_ids.append(
                catalog.create_device_type(
                    db,
                    parse(
                        DeviceTypeIn,
                        {
                            "brand_id": brand["id"],
                            "model": f"m{m}",
                            "category": "server",
                            "u_height": 1,
                        },
                    ),
                )["id"]
            )
    rack = racks.create_rack(db, parse(RackIn, {"name": "r", "u_height": 42}))
    _add_devices(db, rack["id"], 1, 2, type_ids)
    devices.create_connection(
        db, parse(ConnectionIn, {"device_a_id": 1, "device_b_id": 2, "cable_type": "cat6"})
    )
    reads = [
        (racks.get_rack, db, rack["id"]),
        (devices.list_devices, db, 50, 0),
        (devices.list_connections, db, 50, 0),
        (catalog.list_device_types, db, 50, 0),
    ]
    small = [_selects(caplog, *r) for r in reads]
    _add_devices(db, rack["id"], 3, 30, type_ids)
    for i in range(3, 30):
        devices.create_connection(
            db, parse(ConnectionIn, {"device_a_id": i, "device_b_id": i + 1, "cable_type": "dac"})
        )
    large = [_selects(caplog, *r) for r in reads]
    assert all(n > 0 for n in small)
    assert large == small
    assert small[0] <= 4  # rack, its devices, their types, their brands


def test_rack_list_utilization_takes_one_query_for_the_page(db, caplog):
    brand = catalog.create_brand(db, parse(catalog.BrandIn, {"name": "b"}))
    type_id = catalog.create_device_type(
        db,
        parse(
            DeviceTypeIn,
            {
                "brand_id": brand["id"],
                "model": "m",
                "category": "server",
                "u_height": 1,
                "weight_kg": 2,
                "power_w": 10,
            },
        ),
    )["id"]
    first = racks.create_rack(db, parse(RackIn, {"name": "r00", "u_height": 42}))
    _add_devices(db, first["id"], 1, 2, [type_id])
    small = _selects(caplog, racks.list_racks, db, 50, 0)
    for n in range(1, 8):
        rack = racks.create_rack(db, parse(RackIn, {"name": f"r{n:02}", "u_height": 42}))
        _add_devices(db, rack["id"], 1 + 5 * n, 5, [type_id])  # unique names: dev6...
    large = _selects(caplog, racks.list_racks, db, 50, 0)
    assert large == small <= 3  # the page, its count, the devices of its racks
    listed = racks.list_racks(db, 50, 0)["items"]
    assert [r["utilization"]["used_u"] for r in listed] == [2] + [5] * 7
    assert [r["utilization"] for r in listed] == [
        racks.get_rack(db, r["id"])["utilization"] for r in listed
    ]
