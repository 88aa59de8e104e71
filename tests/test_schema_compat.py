"""Expand/contract: this release on a database a newer release migrated.

A "newer release" is simulated for real: the shipped migrations plus one more
(0099_future) in a temporary directory, applied with ``upgrade`` (which records the
declared kind), then this release's code looks at the result.
"""

import json
import logging
import shutil
import sqlite3

import falcon.testing
import psycopg2
import pytest
from helpers import JWT_SECRET, add_test_users
from scratch_db import scratch_database

from homerack.api.app import create_app
from homerack.cli import main
from homerack.config import Config
from homerack.storage import database
from homerack.storage.database import (
    MIGRATIONS_DIR,
    IncompatibleSchema,
    open_database,
    shipped_migrations,
    upgrade,
)
from homerack.storage.schema import classify, declared_kind

FUTURE = """
from yoyo import step

__depends__ = {{"{head}"}}
__homerack_compat__ = {kind!r}

steps = [step("ALTER TABLE rack ADD COLUMN future_colour VARCHAR(20)",
              "ALTER TABLE rack DROP COLUMN future_colour")]
"""


# -- the rule, pure --------------------------------------------------------------


def test_classify_states():
    shipped = ("0001_a", "0002_b")
    assert classify(shipped, shipped, {}).state == "current"
    pending = classify(shipped, ["0001_a"], {})
    assert pending.state == "pending" and pending.pending == ("0002_b",)
    ahead = classify(shipped, [*shipped, "0003_c"], {"0003_c": "expand"})
    assert ahead.as_dict() == {
        "state": "ahead-compatible",
        "pending": [],
        "ahead": ["0003_c"],
        "incompatible": [],
        "head": "0002_b",
    }
    # Contract, or no record at all (the safe guess), is incompatible.
    contract = classify(
        shipped, [*shipped, "0003_c", "0004_d"], {"0003_c": "expand", "0004_d": "contract"}
    )
    assert contract.state == "ahead-incompatible" and contract.incompatible == ("0004_d",)
    assert classify(shipped, [*shipped, "0003_c"], {}).incompatible == ("0003_c",)
    # Shipped migrations are known whatever their record says (0001 has none in old
    # databases).
    assert classify(shipped, shipped, {"0001_a": "contract"}).state == "current"
    # Incompatible wins over pending: upgrading would not make this release fit.
    assert classify(shipped, ["0001_a", "0003_c"], {}).state == "ahead-incompatible"


def test_declared_kind_defaults_to_contract_and_rejects_typos():
    class Module:
        pass

    assert declared_kind(Module, "0003_x") == "contract"
    Module.__homerack_compat__ = "expand"
    assert declared_kind(Module, "0003_x") == "expand"
    Module.__homerack_compat__ = "expnad"
    with pytest.raises(ValueError, match="0003_x"):
        declared_kind(Module, "0003_x")


def test_every_shipped_migration_declares_its_kind():
    from yoyo import read_migrations

    migrations = read_migrations(str(MIGRATIONS_DIR))
    assert [m.id for m in migrations] == list(shipped_migrations())  # README.md is no migration
    for m in migrations:
        m.load()
        assert declared_kind(m.module, m.id) == m.module.__homerack_compat__, m.id


# -- against real databases -------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request, tmp_path):
    """An empty database of each kind, for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    with scratch_database(request.getfixturevalue("postgres_admin_dsn"), "homerack_compat") as url:
        yield url


def sql(url: str, statement: str) -> list:
    if url.startswith("sqlite:"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            return conn.execute(statement).fetchall()
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def newer_release(url: str, tmp_path, kind: str) -> None:
    """Migrate ``url`` as a release shipping one more migration, of ``kind``, would."""
    migrations = tmp_path / "newer-migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "0099_future.py").write_text(
        FUTURE.format(head=shipped_migrations()[-1], kind=kind)
    )
    assert upgrade(url, migrations_dir=migrations)[-1] == "0099_future"
    assert sql(
        url, "SELECT kind FROM homerack_migration_compat WHERE migration_id = '0099_future'"
    ) == [(kind,)]


@pytest.fixture
def cli(fresh_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HOMERACK_DATABASE_URL", fresh_url)
    monkeypatch.setenv("HOMERACK_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("HOMERACK_DATA_DIR", str(tmp_path))

    def run(*argv) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def status_json(cli) -> tuple[int, dict]:
    code, out, _ = cli("db", "status", "--json")
    return code, json.loads(out)


def test_upgrade_records_every_shipped_migration(fresh_url, cli):
    assert cli("db", "status")[0] == 3
    code, doc = status_json(cli)
    assert code == 3 and doc["state"] == "pending"
    assert doc["pending"] == list(shipped_migrations()) and doc["head"] == shipped_migrations()[-1]
    assert cli("db", "upgrade")[0] == 0
    recorded = dict(sql(fresh_url, "SELECT migration_id, kind FROM homerack_migration_compat"))
    assert set(recorded) == set(shipped_migrations())
    code, out, _ = cli("db", "status")
    assert code == 0 and out.startswith("up to date")
    assert status_json(cli) == (
        0,
        {
            "state": "current",
            "pending": [],
            "ahead": [],
            "incompatible": [],
            "head": shipped_migrations()[-1],
        },
    )
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and "up to date" in out  # the deploy's changed_when relies on it


def test_pending_is_exit_3_and_listed(fresh_url, cli):
    upgrade(fresh_url)
    head = shipped_migrations()[-1]
    sql(fresh_url, f"DELETE FROM _yoyo_migration WHERE migration_id = '{head}'")
    code, out, _ = cli("db", "status")
    assert code == 3 and out.strip() == f"pending migrations: {head}"
    code, doc = status_json(cli)
    assert code == 3 and doc["state"] == "pending" and doc["pending"] == [head]


async def test_ahead_by_expand_only_is_compatible(fresh_url, cli, tmp_path, caplog):
    newer_release(fresh_url, tmp_path, "expand")
    code, out, _ = cli("db", "status")
    assert code == 0
    assert out.strip() == (
        "database is ahead by 0099_future (compatible with this release: expand-only)"
    )
    code, doc = status_json(cli)
    assert code == 0 and doc["state"] == "ahead-compatible"
    assert doc["ahead"] == ["0099_future"] and doc["incompatible"] == []
    # A rollback's deploy runs the older release's `db upgrade`: nothing to do, exit 0.
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and "up to date" in out and "ahead by 0099_future" in out

    # Workers start, and say once that the schema is ahead.
    database._warned_ahead.clear()
    caplog.set_level(logging.WARNING, logger="homerack.schema")
    open_database(fresh_url).disconnect()
    add_test_users(fresh_url)  # the owner of _token()
    config = Config(database_url=fresh_url, jwt_secret=JWT_SECRET, upload_dir=tmp_path / "u")
    async with falcon.testing.ASGIConductor(create_app(config)) as client:
        for _ in range(3):
            ready = await client.simulate_get("/api/health/ready")
            assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"
        rack = await client.simulate_post(
            "/api/racks",
            json={"name": "r", "u_height": 4},
            headers={"Authorization": "Bearer " + _token()},
        )
        assert rack.status_code == 201, rack.text  # old code inserts without the new column
    warnings = [r for r in caplog.records if "0099_future" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"


@pytest.mark.parametrize("kind", ["contract", None])
async def test_ahead_by_contract_or_unrecorded_is_incompatible(fresh_url, cli, tmp_path, kind):
    if kind:
        newer_release(fresh_url, tmp_path, kind)
    else:  # applied by a release that wrote no record: treated as contract
        upgrade(fresh_url)
        sql(
            fresh_url,
            "INSERT INTO _yoyo_migration (migration_hash, migration_id, "
            "applied_at_utc) VALUES ('x', '0099_future', '2030-01-01')",
        )
    code, out, _ = cli("db", "status")
    assert code == 4
    assert "0099_future" in out and "roll forward" in out and "backup" in out
    code, doc = status_json(cli)
    assert code == 4 and doc["state"] == "ahead-incompatible"
    assert doc["ahead"] == doc["incompatible"] == ["0099_future"]
    code, _, err = cli("db", "upgrade")
    assert code == 4 and "0099_future" in err and "roll forward" in err
    with pytest.raises(IncompatibleSchema, match="0099_future"):
        open_database(fresh_url)


async def test_ready_turns_503_when_a_contract_lands_under_a_worker(fresh_url, tmp_path):
    upgrade(fresh_url)
    config = Config(database_url=fresh_url, jwt_secret=JWT_SECRET, upload_dir=tmp_path / "u")
    async with falcon.testing.ASGIConductor(create_app(config)) as client:
        assert (await client.simulate_get("/api/health/ready")).status_code == 200
        newer_release(fresh_url, tmp_path, "contract")
        ready = await client.simulate_get("/api/health/ready")
        assert ready.status_code == 503
        assert ready.json["checks"]["database"].startswith("schema incompatible")


def test_db_status_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["db", "status", "--help"])
    text = capsys.readouterr().out
    for needle in (
        "0  this release can run",
        "3  migrations are pending",
        "4  the database is ahead",
        "1  any other error",
        "--json",
    ):
        assert needle in text


def _token() -> str:
    from helpers import token

    return token("admin")
