"""The device and cable lists read joined rows into dicts; they answer exactly what the
Pony entity queries they replaced answered (kept here as the reference), for every
filter, on both databases, at every paging boundary."""

import itertools

import pytest
from pony.orm import db_session

from homerack.domain.schemas import ConnectionIn, DeviceIn, DeviceTypeIn, RackIn, parse
from homerack.storage import catalog, devices, racks
from homerack.storage.common import page
from homerack.storage.database import open_database

# Names with LIKE wildcards, the escape character, mixed and non-ASCII case: a search
# for "%" or "_" matches them literally, "ä" finds "Ä" (as Python lower-cases).
NAMES = [
    "core-SW",
    "core_sw2",
    "100%-disk",
    "a!b",
    "Äther",
    "äpfel",
    "Zeta",
    "zeta-2",
    "b",
    "B2",
    "x_1",
    "x1",
    "pve1",
    "pve10",
    "pve2",
]


@pytest.fixture
def db(config):
    return open_database(config.database_url)


@pytest.fixture
def inventory(db) -> dict:
    ubi = catalog.create_brand(db, parse(catalog.BrandIn, {"name": "Ubiquiti"}))
    dell = catalog.create_brand(db, parse(catalog.BrandIn, {"name": "Dell"}))
    with db_session:
        db.Brand[dell["id"]].logo = "/api/logos/" + "a" * 64 + ".png"
    types = [
        catalog.create_device_type(
            db,
            parse(
                DeviceTypeIn,
                {"brand_id": b["id"], "model": f"M{i}", "category": "server", "u_height": 1},
            ),
        )["id"]
        for i, b in enumerate((ubi, dell, ubi))
    ]
    rack_ids = [
        racks.create_rack(db, parse(RackIn, {"name": f"R{i}", "u_height": 42}))["id"]
        for i in range(2)
    ]
    made = []
    for i, name in enumerate(NAMES):
        placed = i % 3 != 2
        made.append(
            devices.create_device(
                db,
                parse(
                    DeviceIn,
                    {
                        "name": name,
                        "device_type_id": types[i % 3],
                        "rack_id": rack_ids[i % 2] if placed else None,
                        "position_u": i + 1 if placed else None,
                        "locked": i % 4 == 0,
                        "notes": "n" * (i % 2),
                        "serial_number": f"S{i}" if i % 5 == 0 else "",
                    },
                ),
            )["id"]
        )
    for i in range(12):
        a, b = made[i], made[(i * 7 + 3) % len(made)]
        if a != b:
            devices.create_connection(
                db,
                parse(
                    ConnectionIn,
                    {
                        "device_a_id": a,
                        "device_b_id": b,
                        "cable_type": ("cat6", "dac", "power")[i % 3],
                        "count": 1 + i % 2,
                        "label": f"L{i}" if i % 2 else "",
                    },
                ),
            )
    return {"types": types, "racks": rack_ids, "devices": made}


@db_session
def pony_devices(db, limit, offset, q=None, rack_id=None, device_type_id=None, placed=None):
    """list_devices as it was: Pony entities."""
    Device, DeviceType = db.Device, db.DeviceType
    query = Device.select()
    if q:
        needle = q.lower()
        query = query.filter(lambda d: needle in d.name.lower())
    if rack_id is not None:
        query = query.filter(lambda d: d.rack.id == rack_id)
    if device_type_id is not None:
        query = query.filter(lambda d: d.device_type.id == device_type_id)
    if placed is True:
        query = query.filter(lambda d: d.rack is not None)
    elif placed is False:
        query = query.filter(lambda d: d.rack is None)
    query = query.prefetch(Device.device_type, DeviceType.brand).order_by(lambda d: (d.name, d.id))
    return page(query, limit, offset, devices.device_dict)


@db_session
def pony_connections(db, limit, offset, device_id=None, rack_id=None, cable_type=None):
    """list_connections as it was: Pony entities."""
    Connection = db.Connection
    query = Connection.select()
    if device_id is not None:
        query = query.filter(lambda c: c.device_a.id == device_id or c.device_b.id == device_id)
    if rack_id is not None:
        query = query.filter(
            lambda c: c.device_a.rack.id == rack_id or c.device_b.rack.id == rack_id
        )
    if cable_type:
        query = query.filter(lambda c: c.cable_type == cable_type)
    query = query.prefetch(Connection.device_a, Connection.device_b).order_by(lambda c: c.id)
    return page(query, limit, offset, devices.connection_dict)


def same(new: dict, old: dict) -> None:
    assert new == old
    for got, want in zip(new["items"], old["items"], strict=True):
        assert list(got) == list(want)  # the same keys in the same order: the same JSON
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_device_list_filters_match_the_entity_query(db, inventory):
    rack, other = inventory["racks"]
    searches = [None, "", "core", "CORE", "%", "_", "!", "ä", "Ä", "x_", "pve1", "nothing"]
    for q, rack_id, type_id, placed in itertools.product(
        searches,
        [None, rack, other, 999_999],
        [None, inventory["types"][1], 999_999],
        [None, True, False],
    ):
        args = {"q": q, "rack_id": rack_id, "device_type_id": type_id, "placed": placed}
        same(devices.list_devices(db, 50, 0, **args), pony_devices(db, 50, 0, **args))


def test_device_list_pages_match_the_entity_query(db, inventory):
    total = len(NAMES)
    for limit in (1, 2, 4, 7, total - 1, total, 500):
        for offset in sorted({0, 1, limit - 1, limit, total - 1, total, total + 1, 10_000}):
            if offset < 0:
                continue
            for args in ({}, {"placed": True}, {"q": "e"}):
                got = devices.list_devices(db, limit, offset, **args)
                same(got, pony_devices(db, limit, offset, **args))
    # Ordered by name, then id; the page boundaries neither skip nor repeat a device.
    names = [d["name"] for d in devices.list_devices(db, 500, 0)["items"]]
    walked = [
        d["name"] for o in range(0, total, 4) for d in devices.list_devices(db, 4, o)["items"]
    ]
    assert walked == names and len(names) == total
    past = devices.list_devices(db, 4, total)
    assert past["items"] == [] and past["total"] == total


def test_connection_list_matches_the_entity_query(db, inventory):
    rack, other = inventory["racks"]
    some = inventory["devices"]
    for device_id, rack_id, cable_type in itertools.product(
        [None, some[0], some[3], 999_999],
        [None, rack, other, 999_999],
        [None, "", "dac", "fiber"],
    ):
        args = {"device_id": device_id, "rack_id": rack_id, "cable_type": cable_type}
        same(devices.list_connections(db, 50, 0, **args), pony_connections(db, 50, 0, **args))
    for limit, offset in itertools.product((1, 5, 11, 12, 50), (0, 1, 5, 11, 12, 13, 100)):
        got = devices.list_connections(db, limit, offset)
        same(got, pony_connections(db, limit, offset))
