"""PostgreSQL faults on a real server: a lost connection is replaced, a read is run once
more, a write only when it cannot be applied twice, and what still fails is a 503 with
Retry-After, logged as one JSON line. Each test has a scratch database of its own, whose
backends it terminates and whose connections it refuses (ALLOW_CONNECTIONS false)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from types import SimpleNamespace

import falcon.testing
import pytest
from helpers import JWT_SECRET, Api, add_test_users, png
from pony.orm import db_session
from prometheus_client import REGISTRY
from scratch_db import pg_exec, scratch_database

from homerack import storage
from homerack.api.app import create_app
from homerack.config import Config
from homerack.domain.schemas import RackIn
from homerack.logs import JsonFormatter
from homerack.storage import racks, transfer
from homerack.storage.database import open_database, upgrade

pytestmark = pytest.mark.postgres

# Read-only routes, each backed by a different unit of work.
READS = (
    "/api/racks",
    "/api/racks/1",
    "/api/devices",
    "/api/brands",
    "/api/device-types",
    "/api/connections",
    "/api/racks/1/bom",
    "/api/export",
    "/api/auth/me",
)


class Server:
    """The scratch database seen from an admin connection (to another database)."""

    def __init__(self, admin_dsn: str, name: str):
        self.admin_dsn, self.name = admin_dsn, name

    def terminate(self) -> None:
        """End every backend of the app's database, waiting until each has exited."""
        pg_exec(
            self.admin_dsn,
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}'",
        )

    def allow_connections(self, allowed: bool) -> None:
        pg_exec(
            self.admin_dsn,
            f"ALTER DATABASE {self.name} WITH ALLOW_CONNECTIONS {str(allowed).lower()}",
        )

    def go_down(self) -> None:
        self.allow_connections(False)
        self.terminate()


def counted(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def faulty(postgres_admin_dsn, tmp_path):
    """The app on a database of its own with a rack, a device and a cable, and the
    server's admin side. The token check reads its user once (300 s), so that each test
    knows which unit of work meets the fault."""
    with scratch_database(postgres_admin_dsn, "homerack_faults") as url:
        upgrade(url)
        add_test_users(url)
        server = Server(postgres_admin_dsn, url.rsplit("/", 1)[1].split("?")[0])
        config = Config(
            database_url=url,
            jwt_secret=JWT_SECRET,
            upload_dir=tmp_path / "up",
            db_pool_size=2,
            token_check_seconds=300,
        )
        try:
            async with falcon.testing.ASGIConductor(create_app(config)) as conductor:
                api = Api(conductor)
                brand = await api.create("/api/brands", {"name": "Acme"})
                kind = await api.create(
                    "/api/device-types",
                    {"brand_id": brand["id"], "model": "Box", "category": "server", "u_height": 1},
                )
                rack = await api.create("/api/racks", {"name": "Main", "u_height": 12})
                devices = [
                    await api.create(
                        "/api/devices",
                        {
                            "name": name,
                            "device_type_id": kind["id"],
                            "rack_id": rack["id"],
                            "position_u": u,
                        },
                    )
                    for name, u in (("alpha", 1), ("beta", 2))
                ]
                await api.create(
                    "/api/connections",
                    {
                        "device_a_id": devices[0]["id"],
                        "device_b_id": devices[1]["id"],
                        "cable_type": "cat6",
                    },
                )
                yield SimpleNamespace(api=api, server=server)
        finally:
            server.allow_connections(True)


@pytest.fixture
def log_lines():
    """What the app logs from now on, formatted as in production (one JSON line each)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(syslog_prefix=False))
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)


def once(action):
    """``action`` on the first call only."""
    done = []

    def maybe() -> None:
        if not done:
            done.append(True)
            action()

    return maybe


async def test_terminated_backends_are_replaced(faulty):
    api, server = faulty.api, faulty.server
    before = counted("homerack_db_reconnects_total")
    for _ in range(3):
        server.terminate()
        # Concurrently, so that both pool threads meet their dead connection.
        answers = await asyncio.gather(*(api.get(path) for path in READS))
        assert [a.status_code for a in answers] == [200] * len(READS), [
            (p, a.status_code, a.text) for p, a in zip(READS, answers, strict=True)
        ]
        ready = await api.get("/api/health/ready", role=None)
        assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"
    assert counted("homerack_db_reconnects_total") >= before + 3  # at least one per round

    server.terminate()
    created = await api.post("/api/racks", json={"name": "After", "u_height": 10})
    assert created.status_code in (201, 503), created.text  # never a 500
    found = (await api.get("/api/racks", params={"q": "After"})).json["total"]
    assert found == (1 if created.status_code == 201 else 0)


async def test_a_read_runs_once_more_on_a_fresh_connection(faulty, monkeypatch):
    """The first try finds the database refusing connections; it accepts again before
    the second (made so between the two, deterministically)."""
    api, server = faulty.api, faulty.server
    server.go_down()
    discard = storage.discard_connection

    def discard_then_recover(db):
        discard(db)
        recover()

    recover = once(lambda: server.allow_connections(True))
    monkeypatch.setattr(storage, "discard_connection", discard_then_recover)
    retries = counted("homerack_db_retries_total", operation="list_racks")
    answer = await api.get("/api/racks")
    assert answer.status_code == 200 and answer.json["total"] == 1
    assert counted("homerack_db_retries_total", operation="list_racks") == retries + 1


async def test_an_unreachable_database_is_503_logged_as_json_and_recovers(faulty, log_lines):
    api, server = faulty.api, faulty.server
    unavailable = counted("homerack_db_unavailable_total", operation="list_racks")
    server.go_down()
    try:
        answers = [await api.get(path) for path in READS]
        for path, answer in zip(READS, answers, strict=True):
            assert answer.status_code == 503, (path, answer.status_code, answer.text)
            assert answer.headers["retry-after"] == "2"
            assert answer.json == {
                "title": "Service Unavailable",
                "description": "the database is unavailable; retry shortly",
            }
        ready = await api.get("/api/health/ready", role=None)
        assert ready.status_code == 503
        assert ready.json["checks"]["database"] == "unavailable (no connection)"
        write = await api.post("/api/racks", json={"name": "Lost", "u_height": 10})
        assert write.status_code == 503 and write.headers["retry-after"] == "2"
        assert "nothing was saved" in write.json["description"]
    finally:
        server.allow_connections(True)
    assert counted("homerack_db_unavailable_total", operation="list_racks") == unavailable + 1

    records = [json.loads(line) for line in log_lines()]  # one JSON object per line
    request_ids = {a.headers["x-request-id"] for a in [*answers, write]}
    failed = [r for r in records if r["msg"].startswith("database unavailable")]
    assert {r["request_id"] for r in failed} == request_ids  # each failed request: a line
    assert all(r["level"] == "warning" and "exc" not in r for r in failed)
    assert not [r for r in records if r["level"] == "error" or r["logger"] == "falcon"]

    # Back: the next requests succeed, no restart. Polled, with a generous bound.
    deadline = time.monotonic() + 10
    while (await api.get("/api/racks")).status_code != 200:
        assert time.monotonic() < deadline, "no recovery within 10 s"
        await asyncio.sleep(0.1)
    answers = await asyncio.gather(*(api.get(path) for path in READS))
    assert [a.status_code for a in answers] == [200] * len(READS)
    assert (await api.get("/api/health/ready", role=None)).status_code == 200
    assert (await api.get("/api/racks", params={"q": "Lost"})).json["total"] == 0


async def test_a_logo_read_without_the_database_is_503(faulty):
    api, server = faulty.api, faulty.server
    brand = (await api.get("/api/brands")).json["items"][0]
    url = (
        await api.put(
            f"/api/brands/{brand['id']}/logo", body=png(), headers={"Content-Type": "image/png"}
        )
    ).json["logo_url"]
    assert (await api.get(url, role=None)).status_code == 200
    unavailable = counted("homerack_db_unavailable_total", operation="fetch_logo")
    server.go_down()
    try:
        answer = await api.get(url, role=None)
    finally:
        server.allow_connections(True)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
    assert "cache-control" not in answer.headers  # never cached as the logo
    assert answer.json == {
        "title": "Service Unavailable",
        "description": "the database is unavailable; retry shortly",
    }
    assert counted("homerack_db_unavailable_total", operation="fetch_logo") == unavailable + 1


def _replacement(doc: dict) -> dict:
    """``doc`` (an export) with every name changed: importing it replaces everything."""
    doc = json.loads(json.dumps(doc))
    doc["brands"][0]["name"] = "Initech"
    doc["device_types"][0]["brand"] = "Initech"
    for device in doc["devices"]:
        device["brand"] = "Initech"
        device["rack"] = "Spare"
        device["name"] += "-2"
    for cable in doc["connections"]:
        cable["device_a"] += "-2"
        cable["device_b"] += "-2"
    doc["racks"][0]["name"] = "Spare"
    return doc


def _fault_inside_import(monkeypatch, fault) -> None:
    """Inject ``fault`` once, in the middle of the import's transaction (its deletes and
    some inserts sent, no COMMIT yet)."""
    real = transfer.rack_devices
    fire = once(fault)

    def dying(db, rack):
        fire()
        return real(db, rack)

    monkeypatch.setattr(transfer, "rack_devices", dying)


def _inventory(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "exported_at"}


async def test_a_write_that_lost_its_connection_changes_nothing(faulty, monkeypatch):
    """The import wipes the inventory and inserts the new one in one transaction; the
    connection dies in the middle (deletes and inserts sent, no COMMIT) and the database
    stays unreachable: 503, and not one of the deletes or inserts was kept."""
    api, server = faulty.api, faulty.server
    before = (await api.get("/api/export")).json
    _fault_inside_import(monkeypatch, server.go_down)
    answer = await api.post("/api/import", json=_replacement(before))
    server.allow_connections(True)
    assert answer.status_code == 503, answer.text
    assert answer.json["description"] == (
        "the database is unavailable; nothing was saved; retry shortly"
    )
    assert _inventory((await api.get("/api/export")).json) == _inventory(before)


async def test_a_write_that_sent_no_commit_runs_once_more(faulty, monkeypatch):
    """The same loss in the middle of the import, the database reachable: it runs again
    on a fresh connection (the server rolled the first transaction back) and is applied
    exactly once."""
    api, server = faulty.api, faulty.server
    before = (await api.get("/api/export")).json
    _fault_inside_import(monkeypatch, server.terminate)
    retries = counted("homerack_db_retries_total", operation="import_inventory")
    replacement = _replacement(before)
    answer = await api.post("/api/import", json=replacement)
    assert answer.status_code == 200, answer.text
    assert counted("homerack_db_retries_total", operation="import_inventory") == retries + 1
    after = (await api.get("/api/export")).json
    assert _inventory(after) == _inventory(replacement)


async def test_a_write_whose_commit_was_sent_is_never_run_again(faulty, monkeypatch):
    """The connection dies just before the COMMIT: the change may or may not be saved,
    so it is not run again (here it was not saved, so a second run would show)."""
    api, server = faulty.api, faulty.server
    real = racks.rack_dict
    kill = once(server.terminate)

    def dying(rack):
        answer = real(rack)  # the unit of work's last step: the COMMIT comes next
        kill()
        return answer

    monkeypatch.setattr(racks, "rack_dict", dying)
    retries = counted("homerack_db_retries_total", operation="create_rack")
    answer = await api.post("/api/racks", json={"name": "Maybe", "u_height": 10})
    assert answer.status_code == 503, answer.text
    assert "may or may not have been saved" in answer.json["description"]
    assert counted("homerack_db_retries_total", operation="create_rack") == retries
    monkeypatch.undo()
    assert (await api.get("/api/racks", params={"q": "Maybe"})).json["total"] == 0


@pytest.fixture
def pg(postgres_admin_dsn):
    """A database of its own, bound in this thread as a DB pool thread binds it."""
    with scratch_database(postgres_admin_dsn, "homerack_faults") as url:
        upgrade(url)
        server = Server(postgres_admin_dsn, url.rsplit("/", 1)[1].split("?")[0])
        db = open_database(url)
        try:
            yield SimpleNamespace(db=db, server=server)
        finally:
            server.allow_connections(True)
            db.disconnect()


def test_a_transaction_never_goes_on_without_its_first_part(pg):
    """The connection dies between two flushes of one unit of work. Pony on its own
    would run the second flush on a new connection and commit it without the first;
    here the whole unit runs again, and both racks are saved, once."""
    kill = once(pg.server.terminate)

    @db_session
    def two_racks(db):
        db.Rack(**RackIn(name="first", u_height=1).model_dump())
        db.flush()
        kill()
        db.Rack(**RackIn(name="second", u_height=1).model_dump())
        db.flush()

    storage.call(two_racks, pg.db)
    assert [r["name"] for r in racks.list_racks(pg.db, 50, 0)["items"]] == ["first", "second"]


def test_a_pooled_connection_that_died_is_never_kept(pg):
    """Whatever way the unit of work failed, the thread's connection afterwards is open
    and alive (a fresh one), or none at all."""
    pool = pg.db.provider.pool  # this thread's
    for down in (False, True):
        before = pool.con
        assert before is not None and not before.closed
        pg.server.terminate()
        if down:
            pg.server.allow_connections(False)
            with pytest.raises(storage.DatabaseUnavailable):
                storage.call(racks.list_racks, pg.db, 50, 0)
            assert pool.con is None  # discarded; the next unit of work connects
            pg.server.allow_connections(True)
        assert storage.call(racks.list_racks, pg.db, 50, 0)["total"] == 0
        assert pool.con is not before and not pool.con.closed


async def test_an_unexpected_error_is_a_500_in_one_json_line(api, monkeypatch, log_lines):
    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(racks, "page", broken)  # inside list_racks: a bug in a unit of work
    answer = await api.get("/api/racks")
    assert answer.status_code == 500
    rid = answer.headers["x-request-id"]
    assert answer.json["title"] == "500 Internal Server Error"
    assert rid in answer.json["description"]
    records = [json.loads(line) for line in log_lines()]
    errors = [r for r in records if r["level"] == "error"]
    assert len(errors) == 1 and errors[0]["logger"] == "homerack"
    assert errors[0]["request_id"] == rid and errors[0]["route"] == "/api/racks"
    assert "RuntimeError: boom\nsecond line" in errors[0]["exc"]
