"""Configuration from the environment: invalid values name their variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import homerack
from homerack.config import ConfigError, ServerSettings, load_config, parse_rate

APP_DIR = str(Path(homerack.__file__).resolve().parents[1])

SECRET = "s" * 40


def test_defaults_give_a_working_sqlite_setup(tmp_path):
    config = load_config({"HOMERACK_DATA_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path.resolve()}/homerack.sqlite3"
    assert config.upload_dir == tmp_path / "uploads"
    # A random secret is generated once, kept private, and reused.
    secret_file = tmp_path / "jwt_secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert len(config.jwt_secret) >= 32
    assert load_config({"HOMERACK_DATA_DIR": str(tmp_path)}).jwt_secret == config.jwt_secret


def test_postgres_requires_a_secret():
    with pytest.raises(ConfigError) as err:
        load_config({"HOMERACK_DATABASE_URL": "postgresql://h/db"})
    assert err.value.variable == "HOMERACK_JWT_SECRET"


def test_secret_key_serves_when_no_jwt_secret():
    config = load_config(
        {"HOMERACK_DATABASE_URL": "postgresql://h/db", "HOMERACK_SECRET_KEY": SECRET}
    )
    assert config.jwt_secret == SECRET


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("HOMERACK_DATABASE_URL", "mysql://x/y", "scheme"),
        ("HOMERACK_DATABASE_URL", "sqlite://relative", "sqlite:///"),
        ("HOMERACK_JWT_SECRET", "short", "at least 32"),
        ("HOMERACK_DB_POOL_SIZE", "many", "integer"),
        ("HOMERACK_DB_POOL_SIZE", "0", "between"),
        ("HOMERACK_JWT_TTL_SECONDS", "5", "between"),
        ("HOMERACK_MAX_LOGO_BYTES", "1e6", "integer"),
        ("HOMERACK_CORS_ORIGINS", "example.com", "origin"),
        ("HOMERACK_CORS_ORIGINS", "https://ok.example,ftp://x", "origin"),
        ("HOMERACK_REDIS_URL", "localhost:6379", "redis://"),
        ("HOMERACK_RATE_LIMIT", "fast", "20/s"),
        ("HOMERACK_RATE_LIMIT", "10/d", "20/s"),
        ("HOMERACK_RATE_LIMIT", "0/s", "at least 1"),
        ("HOMERACK_LOGIN_RATE_LIMIT", "5/m burst", "20/s"),
        ("HOMERACK_ACCESS_LOG", "maybe", "true or false"),
        ("HOMERACK_TRUSTED_NETWORKS", "10.0.0.0/8,lan", "network"),
        ("HOMERACK_CACHE_TTL_SECONDS", "-1", "between"),
        ("HOMERACK_OPTIMIZER_PROCESSES", "0", "between"),
        ("HOMERACK_OPTIMIZER_QUEUE", "lots", "integer"),
        ("HOMERACK_OPTIMIZER_PER_USER", "0", "between"),
        ("HOMERACK_OPTIMIZER_MEMORY_MB", "64", "between"),
    ],
)
def test_invalid_values_name_the_variable(tmp_path, variable, value, words):
    env = {"HOMERACK_DATA_DIR": str(tmp_path), "HOMERACK_JWT_SECRET": SECRET, variable: value}
    with pytest.raises(ConfigError) as err:
        load_config(env)
    assert err.value.variable == variable
    assert words in str(err.value)


def test_cors_origins_are_parsed(tmp_path):
    config = load_config(
        {
            "HOMERACK_DATA_DIR": str(tmp_path),
            "HOMERACK_CORS_ORIGINS": "https://a.example, http://b.lan:8080/",
        }
    )
    assert config.cors_origins == ("https://a.example", "http://b.lan:8080")


def test_relative_sqlite_paths_resolve_against_the_working_directory(tmp_path, monkeypatch):
    from homerack.storage.database import bind_arguments

    monkeypatch.chdir(tmp_path)
    assert bind_arguments("sqlite:///var/db.sqlite3")["filename"] == str(
        tmp_path.resolve() / "var" / "db.sqlite3"
    )
    assert bind_arguments("sqlite:////srv/db.sqlite3")["filename"] == "/srv/db.sqlite3"


def test_postgresql_connection_attempts_time_out_unless_the_url_says():
    """An unreachable host fails a unit of work in seconds, not the kernel's minutes."""
    from homerack.storage.database import CONNECT_TIMEOUT_S, bind_arguments

    assert bind_arguments("postgresql://app@db/homerack") == {
        "provider": "postgres",
        "dsn": "postgresql://app@db/homerack",
        "connect_timeout": CONNECT_TIMEOUT_S,
    }
    assert "connect_timeout" not in bind_arguments(
        "postgresql://app@db/homerack?sslmode=require&connect_timeout=2"
    )


@pytest.mark.parametrize(
    ("raw", "count", "period", "burst"),
    [
        ("20/s", 20, 1, 20),
        ("600/m burst 100", 600, 60, 100),
        ("5/h", 5, 3600, 5),
        (" 10/M  BURST 3 ", 10, 60, 3),
    ],
)
def test_rates_are_parsed(raw, count, period, burst):
    rate = parse_rate("X", raw)
    assert (rate.count, rate.period, rate.burst) == (count, period, burst)
    assert rate.interval == pytest.approx(period / count)


def test_rate_limits_can_be_turned_off(tmp_path):
    config = load_config(
        {
            "HOMERACK_DATA_DIR": str(tmp_path),
            "HOMERACK_JWT_SECRET": SECRET,
            "HOMERACK_RATE_LIMIT": "off",
            "HOMERACK_LOGIN_RATE_LIMIT": "OFF",
        }
    )
    assert config.rate_limit is None and config.login_rate_limit is None
    defaults = load_config({"HOMERACK_DATA_DIR": str(tmp_path), "HOMERACK_JWT_SECRET": SECRET})
    assert str(defaults.rate_limit) == "50/1s burst 100"
    assert str(defaults.login_rate_limit) == "10/60s burst 5"


def test_optimizer_caps_are_read(tmp_path):
    config = load_config(
        {
            "HOMERACK_DATA_DIR": str(tmp_path),
            "HOMERACK_OPTIMIZER_PROCESSES": "2",
            "HOMERACK_OPTIMIZER_QUEUE": "6",
            "HOMERACK_OPTIMIZER_PER_USER": "3",
            "HOMERACK_OPTIMIZER_MEMORY_MB": "300",
        }
    )
    assert (
        config.optimizer_processes,
        config.optimizer_queue,
        config.optimizer_per_user,
        config.optimizer_memory_mb,
    ) == (2, 6, 3, 300)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HOMERACK_WORKERS", "x", "HOMERACK_WORKERS: must be an integer, got 'x'"),
        ("HOMERACK_WORKERS", "0", "HOMERACK_WORKERS: must be at least 1, got 0"),
        ("HOMERACK_TIMEOUT", "30s", "HOMERACK_TIMEOUT: must be an integer, got '30s'"),
        ("HOMERACK_KEEPALIVE", "-1", "HOMERACK_KEEPALIVE: must be at least 0, got -1"),
    ],
)
def test_gunicorn_settings_name_the_variable(variable, value, message):
    """Gunicorn's config refuses a bad value at start, naming it (not a bare int() error)."""
    env = {**os.environ, variable: value, "PYTHONPATH": APP_DIR}
    run = subprocess.run(
        [sys.executable, "-c", "import homerack.gunicorn_conf"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1 and message in run.stderr, run.stderr


def test_gunicorn_settings_defaults_and_values():
    defaults = ServerSettings.load({"HOMERACK_WORKERS": "", "HOMERACK_DB_POOL_SIZE": "8"})
    assert defaults.bind == ("unix:/run/homerack.sock",)
    assert defaults.workers == len(os.sched_getaffinity(0))
    assert (defaults.graceful_timeout, defaults.timeout, defaults.keepalive) == (30, 30, 75)
    assert defaults.forwarded_allow_ips is None and defaults.control_socket is None
    assert defaults.log_level == "info"
    given = ServerSettings.load(
        {
            "HOMERACK_BIND": "unix:/run/a.sock, 127.0.0.1:8000",
            "HOMERACK_WORKERS": "3",
            "HOMERACK_CONTROL_SOCKET": "",  # empty: no control socket, as "off"
            "HOMERACK_FORWARDED_ALLOW_IPS": "10.0.0.1",
        }
    )
    assert given.bind == ("unix:/run/a.sock", "127.0.0.1:8000") and given.workers == 3
    assert given.control_socket == "" and given.forwarded_allow_ips == "10.0.0.1"


def test_empty_variables_mean_the_default_and_other_settings_are_ignored(tmp_path):
    config = load_config(
        {
            "HOMERACK_DATA_DIR": str(tmp_path),
            "HOMERACK_DB_POOL_SIZE": "",
            "HOMERACK_REDIS_URL": "",
            "HOMERACK_ACCESS_LOG": "TRUE",
            "HOMERACK_WORKERS": "4",  # Gunicorn's, in the same environment file
        }
    )
    assert config.db_pool_size == 4 and config.redis_url is None and config.access_log is True
