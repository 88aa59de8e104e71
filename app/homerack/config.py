"""Configuration from environment variables (systemd passes them via EnvironmentFile).

Every setting has a ``HOMERACK_`` variable, read and checked by pydantic-settings: the
app's in :class:`AppSettings`, Gunicorn's in :class:`ServerSettings`. An empty variable
means its default. Invalid values fail at start with a :class:`ConfigError` naming the
variable, never later at request time.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeAlias
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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


def _rate(raw: str) -> Rate | None:
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
        raise ValueError(f"use e.g. '20/s', '600/m burst 100' or 'off'; got {raw!r}") from None
    if rate.count < 1 or rate.burst < 1:
        raise ValueError("count and burst must be at least 1")
    return rate


def parse_rate(name: str, raw: str) -> Rate | None:
    """``"20/s"``, ``"600/m burst 100"`` or ``"off"``."""
    try:
        return _rate(raw)
    except ValueError as exc:
        raise ConfigError(name, str(exc)) from None


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError(f"{origin!r} is not an origin like https://rack.example.org")
    return origins


def _networks(raw: str) -> tuple[str, ...]:
    nets = tuple(n.strip() for n in raw.split(",") if n.strip())
    for net in nets:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ValueError(f"{net!r} is not a network like 192.168.0.0/16") from None
    return nets


def _redis_url(raw: str | None) -> str | None:
    if raw is not None and urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return raw


def _bool(raw: Any) -> Any:
    # The words the deployment writes (and their usual synonyms), nothing else.
    if isinstance(raw, bool):
        return raw
    word = raw.strip().lower() if isinstance(raw, str) else raw
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def _from_text(parse):
    """A validator reading the variable's text with ``parse`` (defaults pass through)."""
    return BeforeValidator(lambda raw: parse(raw) if isinstance(raw, str) else raw)


def _between(lo: int, hi: int | None = None) -> Any:
    return Field(ge=lo, le=hi)


# NoDecode: these are plain text, not the JSON pydantic-settings expects for tuples.
RateSetting: TypeAlias = Annotated[Rate | None, NoDecode, _from_text(_rate)]
Origins: TypeAlias = Annotated[tuple[str, ...], NoDecode, _from_text(_origins)]
Networks: TypeAlias = Annotated[tuple[str, ...], NoDecode, _from_text(_networks)]
Binds: TypeAlias = Annotated[
    tuple[str, ...], NoDecode, _from_text(lambda raw: tuple(b.strip() for b in raw.split(",")))
]
Flag: TypeAlias = Annotated[bool, BeforeValidator(_bool)]
RedisUrl: TypeAlias = Annotated[str | None, BeforeValidator(_redis_url)]


class _Settings(BaseSettings):
    """``HOMERACK_<FIELD>`` variables from a mapping (the process environment by default).
    Variables of the other settings class are ignored: both read the same file."""

    model_config = SettingsConfigDict(env_prefix="HOMERACK_", extra="ignore", frozen=True)
    # Variables whose empty value means something (elsewhere: empty means the default).
    empty_is_a_value: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # load() reads the variables (see _Variables)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None):
        values = _Variables(cls, os.environ if env is None else env)()
        try:
            return cls(**values)
        except ValidationError as exc:
            raise _config_error(cls, exc.errors()[0]) from None


class _Variables(EnvSettingsSource):
    """pydantic-settings' environment source over any mapping, empty values left out."""

    def __init__(self, settings_cls, env: Mapping[str, str]):
        keep = settings_cls.empty_is_a_value
        self._env = {k.lower(): v for k, v in env.items() if v or k.upper() in keep}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._env


def _config_error(cls, error: ErrorDetails) -> ConfigError:
    """The first validation error, worded as the hand-written checks always were."""
    field = str(error["loc"][0])
    name = f"HOMERACK_{field.upper()}"
    raw = error.get("input")
    if error["type"] == "int_parsing":
        return ConfigError(name, f"must be an integer, got {raw!r}")
    if error["type"] in ("greater_than_equal", "less_than_equal"):
        meta = cls.model_fields[field].metadata
        lo = next(m.ge for m in meta if hasattr(m, "ge"))
        hi = next((m.le for m in meta if hasattr(m, "le")), None)
        if hi is None:
            return ConfigError(name, f"must be at least {lo}, got {raw}")
        return ConfigError(name, f"must be between {lo} and {hi}, got {raw}")
    if error["type"] == "value_error":
        return ConfigError(name, str(error["ctx"]["error"]))
    return ConfigError(name, error["msg"])


class AppSettings(_Settings):
    """The app's variables as given; :func:`load_config` derives the :class:`Config`."""

    data_dir: Path = Path("var")
    database_url: str | None = None
    jwt_secret: str | None = None
    secret_key: str | None = None  # used when HOMERACK_JWT_SECRET is not set
    upload_dir: Path | None = None
    redis_url: RedisUrl = None
    cors_origins: Origins = ()
    jwt_ttl_seconds: Annotated[int, _between(60, 30 * 86400)] = 12 * 3600
    token_check_seconds: Annotated[int, _between(0, 300)] = 5
    db_pool_size: Annotated[int, _between(1, 64)] = 4
    max_logo_bytes: Annotated[int, _between(1024, 20 * 1024 * 1024)] = 1024 * 1024
    max_import_bytes: Annotated[int, _between(64 * 1024, 256 * 1024 * 1024)] = 16 * 1024 * 1024
    optimizer_processes: Annotated[int, _between(1, 16)] = 1
    optimizer_queue: Annotated[int, _between(1, 64)] = 4
    optimizer_per_user: Annotated[int, _between(1, 64)] = 1
    optimizer_memory_mb: Annotated[int, _between(128, 16384)] = 256
    cache_ttl_seconds: Annotated[int, _between(0, 86400)] = 60
    rate_limit: RateSetting = _rate("50/s burst 100")
    login_rate_limit: RateSetting = _rate("10/m burst 5")
    access_log: Flag = False
    trusted_networks: Networks = Config.trusted_networks


class ServerSettings(_Settings):
    """Gunicorn's variables (``gunicorn_conf.py``)."""

    bind: Binds = ("unix:/run/homerack.sock",)
    # One event loop per process: one worker per CPU this process may run on.
    workers: Annotated[int, _between(1)] = Field(
        default_factory=lambda: len(os.sched_getaffinity(0))
    )
    graceful_timeout: Annotated[int, _between(0)] = 30
    timeout: Annotated[int, _between(0)] = 30
    keepalive: Annotated[int, _between(0)] = 75
    forwarded_allow_ips: str | None = None  # default: see gunicorn_conf.py
    control_socket: str | None = None  # default: see gunicorn_conf.py; "" or "off": none
    log_level: str = "info"

    empty_is_a_value = frozenset({"HOMERACK_FORWARDED_ALLOW_IPS", "HOMERACK_CONTROL_SOCKET"})


def _database_url(settings: AppSettings) -> str:
    url = settings.database_url or f"sqlite:///{(settings.data_dir / 'homerack.sqlite3').resolve()}"
    scheme = urlsplit(url).scheme
    name = "HOMERACK_DATABASE_URL"
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(name, f"scheme must be sqlite:// or postgresql://, got {scheme!r}")
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        raise ConfigError(name, "use sqlite:///relative/path or sqlite:////absolute/path")
    return url


def _secret(settings: AppSettings, dev: bool) -> str:
    """The token-signing secret.

    HOMERACK_JWT_SECRET wins, else HOMERACK_SECRET_KEY. On the embedded SQLite
    development setup a random secret is generated once and kept (0600) in the
    data directory, so a fresh clone runs with no configuration and still has no
    default secret anywhere.
    """
    for name, value in (
        ("HOMERACK_JWT_SECRET", settings.jwt_secret),
        ("HOMERACK_SECRET_KEY", settings.secret_key),
    ):
        if value:
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(name, f"must be at least {MIN_SECRET_LENGTH} characters")
            return value
    if not dev:
        raise ConfigError(
            "HOMERACK_JWT_SECRET", "required with PostgreSQL (or set HOMERACK_SECRET_KEY)"
        )
    path = settings.data_dir / "jwt_secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build a Config from ``env`` (default: the process environment)."""
    settings = AppSettings.load(env)
    database_url = _database_url(settings)
    copied = {f: getattr(settings, f) for f in _COPIED}
    return Config(
        database_url=database_url,
        jwt_secret=_secret(settings, dev=database_url.startswith("sqlite:")),
        upload_dir=settings.upload_dir or settings.data_dir / "uploads",
        **copied,
    )


# The settings a Config takes as they are.
_COPIED = (
    "redis_url",
    "cors_origins",
    "jwt_ttl_seconds",
    "token_check_seconds",
    "db_pool_size",
    "max_logo_bytes",
    "max_import_bytes",
    "optimizer_processes",
    "optimizer_queue",
    "optimizer_per_user",
    "optimizer_memory_mb",
    "cache_ttl_seconds",
    "rate_limit",
    "login_rate_limit",
    "access_log",
    "trusted_networks",
)
