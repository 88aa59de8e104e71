"""Configuration from environment variables (systemd passes them via EnvironmentFile).

Every setting has a ``HOMERACK_`` variable. Invalid values fail at start with a
:class:`ConfigError` naming the variable, never later at request time.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

MIN_SECRET_LENGTH = 32


class ConfigError(ValueError):
    """A configuration variable is missing or invalid."""

    def __init__(self, variable: str, reason: str):
        super().__init__(f"{variable}: {reason}")
        self.variable = variable


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``period`` seconds, with bursts of up to ``burst``."""

    count: int
    period: float
    burst: int

    @property
    def interval(self) -> float:
        return self.period / self.count

    def __str__(self) -> str:
        return f"{self.count}/{self.period:g}s burst {self.burst}"


_PERIODS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(name: str, raw: str) -> Rate | None:
    """``"20/s"``, ``"600/m burst 100"`` or ``"off"``."""
    words = raw.strip().lower().split()
    if words == ["off"]:
        return None
    try:
        count, period = words[0].split("/")
        burst = int(words[2]) if len(words) == 3 and words[1] == "burst" else None
        if len(words) not in (1, 3) or (len(words) == 3 and burst is None):
            raise ValueError
        rate = Rate(int(count), float(_PERIODS[period]), burst or int(count))
    except (ValueError, KeyError, IndexError):
        raise ConfigError(
            name, f"use e.g. '20/s', '600/m burst 100' or 'off'; got {raw!r}"
        ) from None
    if rate.count < 1 or rate.burst < 1:
        raise ConfigError(name, "count and burst must be at least 1")
    return rate


@dataclass(frozen=True)
class Config:
    database_url: str
    jwt_secret: str
    upload_dir: Path
    redis_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    jwt_ttl_seconds: int = 12 * 3600
    # How long a worker trusts what it last read of a token's user (epoch, role, active):
    # a revocation is immediate in the worker that made it, and this late in the others.
    token_check_seconds: int = 5
    db_pool_size: int = 4
    max_logo_bytes: int = 1024 * 1024
    # POST /api/import; 60 racks of 42 devices, 3,000 cables and the catalog export as 1.2 MB.
    max_import_bytes: int = 16 * 1024 * 1024
    optimizer_processes: int = 1  # optimizer child processes per worker
    optimizer_queue: int = 4  # runs per worker, running or waiting; more: 503
    optimizer_per_user: int = 1  # concurrent runs per user, all workers; more: 429
    optimizer_memory_mb: int = 256  # address-space cap of each optimizer child
    cache_ttl_seconds: int = 60  # 0 turns the Redis cache off
    rate_limit: Rate | None = None  # per client (token subject, else address)
    login_rate_limit: Rate | None = None  # per client address and per username
    access_log: bool = False
    trusted_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # /api/health/detailed

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


def _int(env, name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(name, f"must be between {lo} and {hi}, got {value}")
    return value


def _database_url(env, data_dir: Path) -> str:
    name = "HOMERACK_DATABASE_URL"
    url = env.get(name) or f"sqlite:///{(data_dir / 'homerack.sqlite3').resolve()}"
    scheme = urlsplit(url).scheme
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(name, f"scheme must be sqlite:// or postgresql://, got {scheme!r}")
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        raise ConfigError(name, "use sqlite:///relative/path or sqlite:////absolute/path")
    return url


def _secret(env, data_dir: Path, dev: bool) -> str:
    """The token-signing secret.

    HOMERACK_JWT_SECRET wins, else HOMERACK_SECRET_KEY. On the embedded SQLite
    development setup a random secret is generated once and kept (0600) in the
    data directory, so a fresh clone runs with no configuration and still has no
    default secret anywhere.
    """
    for name in ("HOMERACK_JWT_SECRET", "HOMERACK_SECRET_KEY"):
        value = env.get(name)
        if value:
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(name, f"must be at least {MIN_SECRET_LENGTH} characters")
            return value
    if not dev:
        raise ConfigError(
            "HOMERACK_JWT_SECRET", "required with PostgreSQL (or set HOMERACK_SECRET_KEY)"
        )
    path = data_dir / "jwt_secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _origins(env) -> tuple[str, ...]:
    name = "HOMERACK_CORS_ORIGINS"
    origins = tuple(o.strip().rstrip("/") for o in env.get(name, "").split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigError(name, f"{origin!r} is not an origin like https://rack.example.org")
    return origins


def _bool(env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}")


def _networks(env, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if not raw:
        return default
    nets = tuple(n.strip() for n in raw.split(",") if n.strip())
    for net in nets:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(name, f"{net!r} is not a network like 192.168.0.0/16") from None
    return nets


def load_config(env: dict[str, str] | None = None) -> Config:
    """Build a Config from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("HOMERACK_DATA_DIR") or "var")
    database_url = _database_url(env, data_dir)
    dev = database_url.startswith("sqlite:")
    redis_url = env.get("HOMERACK_REDIS_URL") or None
    if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("HOMERACK_REDIS_URL", "must start with redis://, rediss:// or unix://")
    return Config(
        database_url=database_url,
        jwt_secret=_secret(env, data_dir, dev),
        upload_dir=Path(env.get("HOMERACK_UPLOAD_DIR") or data_dir / "uploads"),
        redis_url=redis_url,
        cors_origins=_origins(env),
        jwt_ttl_seconds=_int(env, "HOMERACK_JWT_TTL_SECONDS", 12 * 3600, 60, 30 * 86400),
        token_check_seconds=_int(env, "HOMERACK_TOKEN_CHECK_SECONDS", 5, 0, 300),
        db_pool_size=_int(env, "HOMERACK_DB_POOL_SIZE", 4, 1, 64),
        max_logo_bytes=_int(env, "HOMERACK_MAX_LOGO_BYTES", 1024 * 1024, 1024, 20 * 1024 * 1024),
        max_import_bytes=_int(
            env, "HOMERACK_MAX_IMPORT_BYTES", 16 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024
        ),
        optimizer_processes=_int(env, "HOMERACK_OPTIMIZER_PROCESSES", 1, 1, 16),
        optimizer_queue=_int(env, "HOMERACK_OPTIMIZER_QUEUE", 4, 1, 64),
        optimizer_per_user=_int(env, "HOMERACK_OPTIMIZER_PER_USER", 1, 1, 64),
        optimizer_memory_mb=_int(env, "HOMERACK_OPTIMIZER_MEMORY_MB", 256, 128, 16384),
        cache_ttl_seconds=_int(env, "HOMERACK_CACHE_TTL_SECONDS", 60, 0, 86400),
        rate_limit=parse_rate(
            "HOMERACK_RATE_LIMIT", env.get("HOMERACK_RATE_LIMIT") or "50/s burst 100"
        ),
        login_rate_limit=parse_rate(
            "HOMERACK_LOGIN_RATE_LIMIT", env.get("HOMERACK_LOGIN_RATE_LIMIT") or "10/m burst 5"
        ),
        access_log=_bool(env, "HOMERACK_ACCESS_LOG", False),
        trusted_networks=_networks(env, "HOMERACK_TRUSTED_NETWORKS", ("127.0.0.0/8", "::1/128")),
    )
