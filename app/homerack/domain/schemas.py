"""Input documents of the API, validated with pydantic.

The same models give the JSON Schemas of the OpenAPI document, so the published
contract and the checks cannot drift apart. Models are strict (no "5" for 5) and
reject unknown fields, so a typo in a field name is an error, not a silent no-op.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias

from annotated_types import GroupedMetadata
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from .bom import BomExcluded, BomLine, BomTotal
from .choices import (
    ACCESS_FREQUENCIES,
    AIRFLOWS,
    CABLE_TYPES,
    CATEGORIES,
    DEFAULT_WEIGHTS,
    OBJECTIVE_TERMS,
    RACK_WIDTHS,
    ROLES,
)
from .errors import MAX_LISTED, Problem, Problems, ValidationFailed

Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Airflow = Literal[AIRFLOWS]  # type: ignore[valid-type]
Access = Literal[ACCESS_FREQUENCIES]  # type: ignore[valid-type]
CableType = Literal[CABLE_TYPES]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
WidthIn = Literal[RACK_WIDTHS]  # type: ignore[valid-type]
Term = Literal[OBJECTIVE_TERMS]  # type: ignore[valid-type]


# Control characters (C0, DEL, C1), line and paragraph separators, and the bidirectional
# formatting characters (which make "evil\u202egnp.exe" show as "evilexe.png"). Regex
# class text, shared with the published JSON Schema patterns.
UNSAFE_CHARS = (
    r"\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029"
    r"\u202a-\u202e\u2066-\u2069"
)
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
# The whitespace trimmed around names (Unicode White_Space, as pydantic trimmed it).
_WS_CHARS = (
    r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
    r"\u3000"
)
_WS = "".join(c for c in map(chr, range(0x3001)) if re.fullmatch(f"[{_WS_CHARS}]", c))


def _strip(value: str) -> str:
    return value.strip(_WS)


def _single_line(value: str) -> str:
    # They would break exports, logs and SVG labels, or disguise what a name says.
    if _UNSAFE.search(value):
        raise ValueError(
            "must not contain control characters or bidirectional formatting characters"
        )
    return value


def _not_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL (psycopg2 refuses the whole statement).
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _http_url(value: str) -> str:
    if value and (not value.startswith(("http://", "https://")) or any(c.isspace() for c in value)):
        raise ValueError("must be an http:// or https:// URL")
    return value


# The published patterns say exactly what the validators accept (tests/test_openapi.py
# checks it): trimmed of whitespace, the text has no unsafe character (and, when required,
# is not empty). maxLength counts the text as sent.
_SAFE, _VISIBLE = f"[^{UNSAFE_CHARS}]", f"[^{UNSAFE_CHARS}{_WS_CHARS}]"
TEXT_PATTERN = f"^[{_WS_CHARS}]*{_SAFE}*[{_WS_CHARS}]*$"
NAME_PATTERN = f"^[{_WS_CHARS}]*{_SAFE}*{_VISIBLE}{_SAFE}*[{_WS_CHARS}]*$"
URL_PATTERN = f"^[{_WS_CHARS}]*(?:https?://{_VISIBLE}*)?[{_WS_CHARS}]*$"


@dataclass(frozen=True)
class _Text(GroupedMetadata):
    """A trimmed single-line text of at most ``max_length`` characters (as sent).

    Metadata that pydantic expands into the constraints below: an object inside
    ``Annotated[str, ...]``, so the type checker sees a ``str`` (a function returning the
    whole ``Annotated`` would be no type to it).
    """

    max_length: int
    pattern: str
    checks: tuple[Callable[[str], str], ...] = ()

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(max_length=self.max_length)
        yield AfterValidator(_strip)
        yield AfterValidator(_single_line)
        yield from map(AfterValidator, self.checks)
        yield Field(json_schema_extra={"pattern": self.pattern})


Name: TypeAlias = Annotated[str, _Text(100, NAME_PATTERN, (_not_empty,))]
ShortText: TypeAlias = Annotated[str, _Text(200, TEXT_PATTERN)]
Notes: TypeAlias = Annotated[
    str,
    StringConstraints(max_length=5000),
    AfterValidator(_no_nul),
    Field(json_schema_extra={"pattern": r"^[^\u0000]*$"}),
]
SerialNumber: TypeAlias = Annotated[str, _Text(100, TEXT_PATTERN)]
Url: TypeAlias = Annotated[str, _Text(500, URL_PATTERN, (_http_url,))]
MAX_ID = 2**31 - 1  # INTEGER keys: a larger id can only be a client error
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Kilograms = Annotated[float, Field(ge=0, le=5000)]
Watts = Annotated[float, Field(ge=0, le=100_000)]
DepthMm = Annotated[int, Field(ge=1, le=2000)]


def _integral(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    return [_integral(v) for v in value] if type(value) is list else value


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _integral_numbers(cls, data: Any) -> Any:
        # JSON Schema counts 58.0 as an integer, so a generated client may send it; strict
        # pydantic would refuse it (float fields take the int as well).
        if isinstance(data, dict):
            return {k: _integral(v) for k, v in data.items()}
        return data


class BrandIn(Strict):
    name: Name
    website: Url = ""


class DeviceTypeFields(Strict):
    model: Name
    category: Category
    u_height: Annotated[int, Field(ge=1, le=20, description="rack units")]
    width_in: WidthIn = 19
    depth_mm: DepthMm | None = None
    weight_kg: Kilograms = 0.0
    power_w: Annotated[Watts, Field(description="typical draw")] = 0.0
    airflow: Airflow = "front_to_back"
    port_count: Annotated[int, Field(ge=0, le=1024)] | None = None


class DeviceTypeIn(DeviceTypeFields):
    brand_id: Id


class RackIn(Strict):
    name: Name
    location: ShortText = ""
    u_height: Annotated[int, Field(ge=1, le=60, description="rack units; U1 is the bottom")]
    width_in: WidthIn = 19
    depth_mm: DepthMm | None = None
    max_weight_kg: Annotated[float, Field(gt=0, le=10_000)] | None = None
    max_power_w: Annotated[float, Field(gt=0, le=1_000_000)] | None = None
    ergonomic_u: Annotated[int, Field(ge=1, le=60, description="comfiest unit")] | None = None
    notes: Notes = ""


class DeviceFields(Strict):
    name: Name
    position_u: Annotated[int, Field(ge=1, le=60, description="lowest unit occupied")] | None = None
    locked: bool = False
    access_frequency: Access = "monthly"
    notes: Notes = ""
    serial_number: SerialNumber = ""
    management_url: Annotated[
        Url, Field(description=("the device's own admin page (http:// or https://)"))
    ] = ""


class DeviceIn(DeviceFields):
    device_type_id: Id
    rack_id: Id | None = None


class ConnectionFields(Strict):
    cable_type: CableType
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    label: ShortText = ""
    notes: Notes = ""


class ConnectionIn(ConnectionFields):
    device_a_id: Id
    device_b_id: Id


# -- the optimizer request of POST /api/racks/{id}/optimize ----------------------

Weight = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class WeightsIn(Strict):
    """Relative importance of the four cost terms (normalised by their sum)."""

    cable: Weight = DEFAULT_WEIGHTS["cable"]
    weight: Weight = DEFAULT_WEIGHTS["weight"]
    thermal: Weight = DEFAULT_WEIGHTS["thermal"]
    access: Weight = DEFAULT_WEIGHTS["access"]

    @model_validator(mode="after")
    def _not_all_zero(self) -> WeightsIn:
        if self.cable + self.weight + self.thermal + self.access <= 0:
            raise ValueError("at least one weight must be above 0")
        return self


class OptimizeIn(Strict):
    weights: WeightsIn = WeightsIn()
    add_device_ids: Annotated[
        list[Id],
        Field(max_length=200, description=("unplaced devices to place in this rack as well")),
    ] = []
    time_limit_ms: Annotated[int, Field(ge=1, le=10_000)] = 1000
    seed: Annotated[
        int, Field(ge=0, le=2**31 - 1, description=("the same seed and input give the same layout"))
    ] = 0
    apply: Annotated[
        bool,
        Field(
            description=(
                "false: only propose; true: save the layout, unless the rack changed meanwhile"
            )
        ),
    ] = False
    layout_version: Annotated[
        str | None,
        Field(
            max_length=64,
            description=(
                "with apply: save only if the rack still has this layout (from a proposal)"
            ),
        ),
    ] = None
    include_svg: Annotated[
        bool, Field(description=("add the proposed elevation as an SVG document"))
    ] = False

    @model_validator(mode="after")
    def _unique_ids(self) -> OptimizeIn:
        if len(set(self.add_device_ids)) != len(self.add_device_ids):
            raise ValueError("add_device_ids lists a device twice")
        return self


# -- the inventory document of GET /api/export and POST /api/import -------------
# References are by name, not id, so a document moves between databases.

LogoUrl = Annotated[
    str, StringConstraints(pattern=r"^/uploads/logos/[0-9a-f]{64}\.(png|jpg|webp)$")
]


class BrandDoc(BrandIn):
    logo_url: LogoUrl | None = None


class DeviceTypeDoc(DeviceTypeFields):
    brand: Name


class DeviceDoc(DeviceFields):
    brand: Name
    model: Name
    rack: Name | None = None


class ConnectionDoc(ConnectionFields):
    device_a: Name
    device_b: Name


# Version 2 added the devices' serial_number and management_url (migration 0002); a
# version 1 document is the same without them, so both import.
INVENTORY_VERSION = 2


class InventoryDoc(Strict):
    format: Literal["homerack-inventory"]
    version: Literal[1, 2]
    exported_at: str | None = None
    homerack_version: str | None = None
    brands: list[BrandDoc] = []
    device_types: list[DeviceTypeDoc] = []
    racks: list[RackIn] = []
    devices: list[DeviceDoc] = []
    connections: list[ConnectionDoc] = []


# -- response documents --------------------------------------------------------
# Documentation only: the storage layer builds plain dicts, and the tests check each
# response against these models (same keys, valid values), so the OpenAPI document
# describes what the API really answers.


class Out(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class Utilization(Out):
    """Units, weight and power in use against the rack's size and budgets (null
    percentages: the rack sets no budget)."""

    used_u: int
    free_u: int
    used_pct: float | None
    weight_kg: float
    max_weight_kg: float | None
    weight_pct: float | None
    power_w: float
    max_power_w: float | None
    power_pct: float | None


class Rack(RackIn):
    model_config = ConfigDict(
        strict=False, extra="ignore", json_schema_serialization_defaults_required=True
    )
    id: int


class RackSummary(Rack):
    """A rack as listed: its fields and its utilization."""

    utilization: Utilization


# The brand's logo as the API serves it, on brands and on the devices of their types.
BrandLogo = Annotated[
    str | None,
    Field(
        description=(
            "the brand's logo, /uploads/logos/<sha256>.<ext>; null when the brand has none"
        )
    ),
]


class RackDevice(Out):
    """A device placed in a rack, with its type's dimensions and its brand's logo."""

    id: int
    name: str
    position_u: int
    top_u: int
    locked: bool
    access_frequency: Access
    notes: str
    device_type_id: int
    brand_id: int
    brand: str
    logo_url: BrandLogo
    model: str
    category: Category
    u_height: int
    width_in: int
    depth_mm: int | None
    weight_kg: float
    power_w: float
    airflow: Airflow


class RackDetail(Rack):
    """A rack with its placed devices (top first, like an elevation) and utilization."""

    devices: list[RackDevice]
    utilization: Utilization


class Device(DeviceFields):
    model_config = ConfigDict(
        strict=False, extra="ignore", json_schema_serialization_defaults_required=True
    )
    id: int
    device_type_id: int
    brand_id: int
    brand: str
    logo_url: BrandLogo
    model: str
    category: Category
    u_height: int
    rack_id: int | None


class BomReport(Out):
    """The cable bill of materials of a rack (GET /api/racks/{id}/bom)."""

    rack_id: int
    rack: str
    width_in: int
    lines: list[BomLine]
    totals: Annotated[
        list[BomTotal],
        Field(
            description=(
                "per cable type and stock length (null: custom lengths): cables and metres"
            )
        ),
    ]
    excluded: Annotated[
        list[BomExcluded],
        Field(description=("connections that leave the rack or have an unplaced end")),
    ]
    stock_lengths_m: dict[str, list[float]]


class Brand(Out):
    id: int
    name: str
    website: str
    logo_url: BrandLogo


class DeviceType(Out):
    id: int
    brand_id: int
    brand: str
    model: str
    category: Category
    u_height: int
    width_in: int
    depth_mm: int | None
    weight_kg: float
    power_w: float
    airflow: Airflow
    port_count: int | None


class Connection(Out):
    id: int
    device_a_id: int
    device_a: str
    device_b_id: int
    device_b: str
    cable_type: CableType
    count: int
    label: str
    notes: str


class User(Out):
    id: int
    username: str
    role: Role
    active: bool


class Token(Out):
    """A bearer token; any change of the user's password, role or status revokes it."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: Annotated[int, Field(description="seconds")]
    user: User


class Imported(Out):
    imported: dict[Literal["brands", "device_types", "racks", "devices", "connections"], int]


class Placement(Out):
    device_id: int
    name: str
    model: str
    position_u: int
    top_u: int
    previous_u: int | None
    moved: bool
    added: bool
    locked: bool


class Score(Out):
    score: float
    cost: float
    terms: dict[Term, float]


class Scores(Out):
    proposed: Score | None
    current: Score | None


class Proof(Out):
    optimal: bool
    lower_bound: float | None
    method: str


class Explanation(Out):
    device_id: int
    name: str
    text: str


class Proposal(Out):
    """An optimizer run: where each device goes (top first), scores and why."""

    rack_id: int
    placements: list[Placement]
    score: Scores
    weights: dict[Term, float]
    proof: Proof
    elapsed_ms: float
    explanations: list[Explanation]
    layout_version: str
    applied: bool
    elevation_svg: Annotated[str, Field(description="only with include_svg")] = ""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)


class Release(Out):
    """The deployed release (release.json), null outside a release deployment."""

    id: str
    commit: str | None
    dirty: bool
    built_at: str | None


class Health(Out):
    status: Literal["ok", "starting"]
    version: str
    release: Release | None


class Live(Out):
    status: Literal["ok"]


class Startup(Out):
    status: Literal["started", "starting"]


class Ready(Out):
    status: Literal["ready", "degraded", "not ready"]
    checks: dict[Literal["database", "redis"], str]


class CacheStats(Out):
    enabled: bool
    ttl_seconds: int
    hits: int
    misses: int
    errors: int
    hit_rate: float | None
    keys: int | None
    memory_bytes: int | None
    scope: str


class DatabaseHealth(Out):
    status: str
    latency_ms: float | None
    provider: str | None
    pool_size: int
    pool_threads: int
    queued: int | None


class RedisHealth(Out):
    status: str
    latency_ms: float | None


class OptimizerHealth(Out):
    processes: int
    pids: list[int]
    running: int
    queued: int


class HealthDetail(Out):
    version: str
    release: Release | None
    pid: int
    uptime_s: float | None
    database: DatabaseHealth
    redis: RedisHealth
    optimizer: OptimizerHealth
    cache: CacheStats


USERNAME_PATTERN = f"^[{_WS_CHARS}]*[A-Za-z0-9][A-Za-z0-9_.@-]+[{_WS_CHARS}]*$"


def _username(value: str) -> str:
    # ASCII before lower(): the Kelvin sign lowers to "k", and look-alikes have no place
    # in account names.
    value = _strip(value)
    if not (value.isascii() and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.@-]+", value)):
        raise ValueError(
            "use 2 to 64 letters, digits and . _ @ - (starting with a letter or digit)"
        )
    return value.lower()


Username = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_username),
    Field(json_schema_extra={"pattern": USERNAME_PATTERN}),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=1024)]


class UserIn(Strict):
    username: Username
    password: Password
    role: Role = "viewer"
    active: bool = True


class UserPatch(Strict):
    password: Password | None = None
    role: Role | None = None
    active: bool | None = None


class LoginIn(Strict):
    username: Annotated[str, _Text(64, NAME_PATTERN, (_not_empty,)), AfterValidator(str.lower)]
    password: Annotated[str, StringConstraints(max_length=1024)]


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate ``data`` against ``model``; raise ValidationFailed naming each bad field."""
    if not isinstance(data, dict):
        raise ValidationFailed.one("", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed([_problem(e) for e in exc.errors()]) from None


# The lists of an inventory document, validated a chunk of items at a time.
_DOC_LISTS = {
    name: TypeAdapter(InventoryDoc.model_fields[name].rebuild_annotation())
    for name in ("brands", "device_types", "racks", "devices", "connections")
}
_CHUNK = 100


def parse_inventory(data: Any) -> InventoryDoc:
    """``parse(InventoryDoc, data)`` with bounded work: the lists are validated a chunk
    at a time and checking stops once ``Problems.full`` (a document of a million empty
    objects would otherwise build millions of errors before the first is reported)."""
    if not isinstance(data, dict):
        raise ValidationFailed.one("", "the request body must be a JSON object")
    lists = {k: v for k, v in data.items() if k in _DOC_LISTS and isinstance(v, list)}
    problems = Problems()
    doc = None
    try:  # everything but the lists (a list field that is not a list is reported here)
        doc = InventoryDoc.model_validate({k: v for k, v in data.items() if k not in lists})
    except ValidationError as exc:
        problems.extend(_problem(e) for e in exc.errors())
    parsed: dict[str, list] = {}
    for name, items in lists.items():
        out = parsed[name] = []
        for start in range(0, len(items), _CHUNK):
            if problems.full:
                problems.stopped = True
                raise problems.failure()
            try:
                out += _DOC_LISTS[name].validate_python(items[start : start + _CHUNK])
            except ValidationError as exc:
                if len(problems.listed) < MAX_LISTED:
                    problems.extend(_problem(e, (name, start)) for e in exc.errors())
                else:  # only counted: no Python objects for what is not listed
                    problems.total += exc.error_count()
    if problems or doc is None:
        raise problems.failure()
    return doc.model_copy(update=parsed)


def _problem(error: Any, at: tuple[str, int] | None = None) -> Problem:
    loc = error["loc"]
    if at is not None:  # an error in a chunk of a list: its index in the whole list
        loc = (at[0], at[1] + loc[0], *loc[1:])
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    field = field.removeprefix(".")
    if error["type"] == "extra_forbidden":
        return Problem(field, "unknown field")
    if error["type"] == "missing":
        return Problem(field, "is required")
    return Problem(field, error["msg"].removeprefix("Value error, "))


def merge(model: type[BaseModel], current: dict, patch: Any) -> Any:
    """Apply a PATCH document to ``current`` and validate the result as a whole.

    Validating the merged record (not the patch alone) keeps one set of rules for
    create and update, and makes ``null`` legal exactly where the field is optional.
    """
    if not isinstance(patch, dict):
        raise ValidationFailed.one("", "the request body must be a JSON object")
    unknown = sorted(set(patch) - set(model.model_fields))
    if unknown:
        raise ValidationFailed([Problem(f, "unknown field") for f in unknown])
    return parse(model, {**current, **patch})
