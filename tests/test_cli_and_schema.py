"""The homerack command, and the workers' refusal to run on a stale schema."""

import io
import sqlite3

import falcon.testing
import pytest
from helpers import JWT_SECRET, wipe
from scratch_db import scratch_database

from homerack.api.app import create_app
from homerack.cli import main
from homerack.config import Config
from homerack.storage.database import upgrade


@pytest.fixture
def cli_env(config, monkeypatch, tmp_path):
    wipe(config.database_url, test_users=False)  # the CLI's first admin is the first user
    monkeypatch.setenv("HOMERACK_DATABASE_URL", config.database_url)
    monkeypatch.setenv("HOMERACK_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("HOMERACK_DATA_DIR", str(tmp_path))
    return config


def run(monkeypatch, *argv, stdin: str | None = None) -> int:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


async def _login(config, username, password):
    async with falcon.testing.ASGIConductor(create_app(config)) as c:
        return await c.simulate_post(
            "/api/auth/login", json={"username": username, "password": password}
        )


async def test_user_add_reads_the_password_from_stdin(cli_env, monkeypatch, capsys):
    assert (
        run(monkeypatch, "user", "add", "Root", "--role", "admin", stdin="a long enough password\n")
        == 0
    )
    assert "created admin 'root'" in capsys.readouterr().out
    result = await _login(cli_env, "root", "a long enough password")
    assert result.status_code == 200 and result.json["user"]["role"] == "admin"
    assert run(monkeypatch, "user", "passwd", "root", stdin="another long password\n") == 0
    assert (await _login(cli_env, "root", "another long password")).status_code == 200


async def test_user_add_exists_ok_keeps_the_existing_password(cli_env, monkeypatch, capsys):
    assert (
        run(monkeypatch, "user", "add", "admin", "--role", "admin", stdin="the first password\n")
        == 0
    )
    # What the deployment runs on every converge: no error, and nothing changes.
    assert (
        run(
            monkeypatch,
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--exists-ok",
            stdin="another password!\n",
        )
        == 0
    )
    assert "already exists (unchanged)" in capsys.readouterr().out
    assert (await _login(cli_env, "admin", "the first password")).status_code == 200
    # Without the flag a duplicate is still an error.
    assert run(monkeypatch, "user", "add", "admin", stdin="another password!\n") == 1


def test_user_add_rejects_a_short_password(cli_env, monkeypatch, capsys):
    assert run(monkeypatch, "user", "add", "bob", stdin="short\n") == 1
    assert "password" in capsys.readouterr().err


def test_catalog_load_is_curated_and_idempotent(cli_env, monkeypatch, capsys):
    assert run(monkeypatch, "catalog", "load") == 0
    first = capsys.readouterr().out
    brands, types = (int(x.split()[0]) for x in first.split(":")[1].split(",")[:2])
    assert brands >= 10 and types >= 40
    assert run(monkeypatch, "catalog", "load") == 0
    assert "0 new brand(s), 0 new device type(s)" in capsys.readouterr().out


async def test_demo_loads_a_valid_homelab_once(cli_env, monkeypatch, capsys):
    assert run(monkeypatch, "demo") == 0
    out = capsys.readouterr().out
    assert "2 racks" in out
    devices = int(out.split("racks, ")[1].split()[0])
    cables = int(out.split("devices, ")[1].split()[0])
    assert 15 <= devices <= 25 and 20 <= cables <= 30
    password = out.split("with password ")[1].split()[0]
    result = await _login(cli_env, "admin", password)
    assert result.status_code == 200
    assert run(monkeypatch, "demo") == 1
    assert "already loaded" in capsys.readouterr().err


def test_configuration_error_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("HOMERACK_DATABASE_URL", "mysql://db/x")
    assert run(monkeypatch, "db", "upgrade") == 2
    assert "HOMERACK_DATABASE_URL" in capsys.readouterr().err


def test_db_upgrade_and_status_on_fresh_sqlite(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOMERACK_DATABASE_URL", f"sqlite:///{tmp_path}/new/db.sqlite3")
    monkeypatch.setenv("HOMERACK_DATA_DIR", str(tmp_path))
    assert run(monkeypatch, "db", "status") == 1
    assert "cannot open the database" in capsys.readouterr().err
    (tmp_path / "new").mkdir()
    assert run(monkeypatch, "db", "status") == 3  # an empty database: everything pending
    assert "pending migrations: 0001_initial" in capsys.readouterr().out
    assert run(monkeypatch, "db", "upgrade") == 0
    assert (
        "applied 5 migration(s): 0001_initial, 0002_device_serial_and_url, "
        "0003_user_token_epoch, 0004_logo_blobs, 0005_device_name_order" in capsys.readouterr().out
    )
    assert run(monkeypatch, "db", "upgrade") == 0
    assert "up to date" in capsys.readouterr().out
    assert run(monkeypatch, "db", "status") == 0


def test_db_upgrade_on_fresh_postgres(postgres_admin_dsn):
    with scratch_database(postgres_admin_dsn, "homerack_fresh") as url:
        assert upgrade(url) == [
            "0001_initial",
            "0002_device_serial_and_url",
            "0003_user_token_epoch",
            "0004_logo_blobs",
            "0005_device_name_order",
        ]
        assert upgrade(url) == []


def _startup_error(tmp_path, url) -> str:
    config = Config(database_url=url, jwt_secret=JWT_SECRET, upload_dir=tmp_path / "u")
    app = create_app(config)
    with pytest.raises(Exception) as err:
        falcon.testing.TestClient(app).simulate_get("/api/health")
    return str(err.value)


def _migrated_sqlite(tmp_path) -> tuple[str, str]:
    path = tmp_path / "db.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url, str(path)


def test_worker_refuses_a_database_without_schema(tmp_path):
    message = _startup_error(tmp_path, f"sqlite:///{tmp_path}/empty.sqlite3")
    assert "no HomeRack schema" in message and "homerack db upgrade" in message


def test_worker_refuses_pending_migrations(tmp_path):
    url, path = _migrated_sqlite(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM _yoyo_migration")
    message = _startup_error(tmp_path, url)
    assert "pending migrations: 0001_initial" in message


def test_worker_refuses_a_newer_schema(tmp_path):
    url, path = _migrated_sqlite(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc)"
            " VALUES ('x', '0099_future', '2030-01-01')"
        )
    assert "0099_future" in _startup_error(tmp_path, url)


def test_worker_refuses_a_schema_missing_a_column(tmp_path):
    url, path = _migrated_sqlite(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE rack DROP COLUMN notes")
    assert "does not match this release" in _startup_error(tmp_path, url)


async def test_ready_reports_a_schema_that_went_stale(tmp_path):
    url, path = _migrated_sqlite(tmp_path)
    config = Config(database_url=url, jwt_secret=JWT_SECRET, upload_dir=tmp_path / "u")
    async with falcon.testing.ASGIConductor(create_app(config)) as client:
        ready = await client.simulate_get("/api/health/ready")
        assert ready.status_code == 200
        assert ready.json == {
            "status": "ready",
            "checks": {"database": "ok", "redis": "not configured"},
        }
        # Someone restores an older dump under the running worker: not ready any more.
        with sqlite3.connect(path) as con:
            con.execute("DELETE FROM _yoyo_migration")
        stale = await client.simulate_get("/api/health/ready")
        assert stale.status_code == 503
        assert stale.json["checks"]["database"].startswith("schema out of date")
        assert (await client.simulate_get("/api/health/live")).status_code == 200
