"""Cable bill of materials for one rack (pure, stdlib only).

For each connection with both ends placed in the rack the run length is

    (vertical distance between the device centres, 44.45 mm per unit
     + a horizontal allowance per end that depends on the rack width) * 1.20 (slack)

rounded *up* to the next stock length of the connection's cable type. A run longer
than the longest stock length is reported as a custom length (never guessed).
Connections that leave the rack or have an unplaced end are listed apart.

Horizontal allowance per end (from the device port to the cable manager at the side
and back): 10" rack 150 mm, 19" rack 300 mm, 23" rack 350 mm. Other widths use the
allowance of the next larger standard width (the largest for anything wider).

``bom_csv`` writes the same lines for a spreadsheet, with a subtotal row per cable
type and stock length and a total row; text a spreadsheet would run as a formula is
defused with a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from .choices import CABLE_TYPES, UNIT_MM
from .model import Device, Rack

SLACK = 0.20
HORIZONTAL_MM_PER_END: dict[int, float] = {10: 150.0, 19: 300.0, 23: 350.0}

_COPPER = (0.15, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
_FIBRE = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
STOCK_LENGTHS_M: dict[str, tuple[float, ...]] = {
    "cat6": _COPPER,
    "cat6a": _COPPER,
    "dac": (0.5, 1.0, 1.5, 2.0, 3.0, 5.0),
    "fiber_om4": _FIBRE,
    "fiber_os2": _FIBRE,
    "power": (0.3, 0.6, 1.0, 1.5, 2.0, 3.0),
    "usb": (0.5, 1.0, 2.0, 3.0),
    "other": (0.5, 1.0, 2.0, 3.0, 5.0),
}


@dataclass(frozen=True)
class BomConnection:
    """A connection; ends not in the rack's device list leave the rack.

    ``a_name``/``b_name`` name ends outside the rack (optional, for the report).
    """

    id: int
    a: int
    b: int
    cable_type: str
    count: int = 1
    label: str | None = None
    a_name: str | None = None
    b_name: str | None = None

    def __post_init__(self) -> None:
        if self.cable_type not in STOCK_LENGTHS_M:
            raise ValueError(
                f"connection {self.id}: unknown cable type {self.cable_type!r}"
                f" (known: {', '.join(CABLE_TYPES)})"
            )
        if self.count < 1:
            raise ValueError(f"connection {self.id}: count must be at least 1")


@dataclass(frozen=True)
class BomLine:
    connection_id: int
    a_name: str
    b_name: str
    cable_type: str
    count: int
    length_mm: float  # computed run length, slack included
    stock_length_m: float | None  # None: longer than any stock cable (custom length)
    custom: bool = False
    note: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class BomTotal:
    cable_type: str
    stock_length_m: float | None  # None: custom lengths
    count: int
    total_length_m: float  # stock length * count (custom: sum of computed runs)


@dataclass(frozen=True)
class BomExcluded:
    connection_id: int
    a_name: str
    b_name: str
    cable_type: str
    count: int
    reason: str
    label: str | None = None


@dataclass(frozen=True)
class Bom:
    lines: list[BomLine] = field(default_factory=list)
    totals: list[BomTotal] = field(default_factory=list)
    excluded: list[BomExcluded] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict."""
        return asdict(self)


def horizontal_allowance_mm(width_in: int) -> float:
    """Per-end horizontal allowance for a rack of this width (inches)."""
    for w in sorted(HORIZONTAL_MM_PER_END):
        if width_in <= w:
            return HORIZONTAL_MM_PER_END[w]
    return HORIZONTAL_MM_PER_END[max(HORIZONTAL_MM_PER_END)]


def run_length_mm(u_a: int, h_a: int, u_b: int, h_b: int, width_in: int) -> float:
    """Run length between two placed devices, slack included (not rounded to stock)."""
    c_a = u_a + (h_a - 1) / 2
    c_b = u_b + (h_b - 1) / 2
    vertical = abs(c_a - c_b) * UNIT_MM
    return (vertical + 2 * horizontal_allowance_mm(width_in)) * (1 + SLACK)


def stock_length_m(cable_type: str, length_mm: float) -> float | None:
    """Shortest stock length that is at least ``length_mm`` (None: none is long enough)."""
    for s in STOCK_LENGTHS_M[cable_type]:
        if s * 1000 >= length_mm - 1e-9:
            return s
    return None


def cable_bom(rack: Rack, devices: Iterable[Device], connections: Iterable[BomConnection]) -> Bom:
    """Bill of materials of the connections of ``rack``; ``devices`` are those in it (and
    unplaced ones at an end of a connection)."""
    width_in = rack.width_in
    devs: Mapping[int | None, Device] = {d.id: d for d in devices}

    def name(dev_id: int, given: str | None) -> str:
        if dev_id in devs:
            return devs[dev_id].name
        return given if given else f"device {dev_id}"

    lines: list[BomLine] = []
    excluded: list[BomExcluded] = []
    totals: dict[tuple[str, float | None], list[float]] = {}
    for c in sorted(connections, key=lambda c: c.id):
        an, bn = name(c.a, c.a_name), name(c.b, c.b_name)
        da, db = devs.get(c.a), devs.get(c.b)
        if da is None or db is None:
            outside = [n for n, d in ((an, da), (bn, db)) if d is None]
            reason = f"leaves the rack ({' and '.join(repr(n) for n in outside)} elsewhere)"
            excluded.append(BomExcluded(c.id, an, bn, c.cable_type, c.count, reason, c.label))
            continue
        if da.position_u is None or db.position_u is None:
            unplaced = [d.name for d in (da, db) if d.position_u is None]
            reason = f"unplaced end ({' and '.join(repr(n) for n in unplaced)} not placed)"
            excluded.append(BomExcluded(c.id, an, bn, c.cable_type, c.count, reason, c.label))
            continue
        length = run_length_mm(da.position_u, da.u_height, db.position_u, db.u_height, width_in)
        stock = stock_length_m(c.cable_type, length)
        note = None
        if stock is None:
            longest = max(STOCK_LENGTHS_M[c.cable_type])
            note = (
                f"custom length: {math.ceil(length / 10) / 100:.2f} m needed, longest"
                f" stock {c.cable_type} cable is {longest:g} m"
            )
        lines.append(
            BomLine(
                c.id,
                an,
                bn,
                c.cable_type,
                c.count,
                round(length, 1),
                stock,
                custom=stock is None,
                note=note,
                label=c.label,
            )
        )
        totals.setdefault((c.cable_type, stock), []).extend([length] * c.count)
    total_rows = []
    for (ctype, stock), lengths in sorted(
        totals.items(), key=lambda kv: (kv[0][0], math.inf if kv[0][1] is None else kv[0][1])
    ):
        total_len = stock * len(lengths) if stock is not None else sum(lengths) / 1000
        total_rows.append(BomTotal(ctype, stock, len(lengths), round(total_len, 3)))
    return Bom(lines=lines, totals=total_rows, excluded=excluded)


# -- CSV export ------------------------------------------------------------------

CSV_COLUMNS = (
    "row",
    "connection_id",
    "device_a",
    "device_b",
    "label",
    "cable_type",
    "count",
    "stock_length_m",
    "run_length_mm",
    "length_m",
    "note",
)
# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice
# and Google Sheets: OWASP's CSV injection guidance.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One cell: None empty, numbers without float noise, text that a spreadsheet would
    read as a formula prefixed with an apostrophe (shown as text, never evaluated)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".")
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _metres(x: float) -> float:
    return round(x, 3)


def bom_csv_rows(bom: Bom) -> list[tuple]:
    """The rows of the CSV export (header first), as plain values.

    ``row`` is ``cable`` for a line of the BOM, ``subtotal`` for a total per cable type
    and stock length (an empty stock length: custom lengths), ``total`` for the last
    row; ``length_m`` is the cable bought: stock length x count (custom lines: the run
    length x count)."""
    rows: list[tuple] = [CSV_COLUMNS]
    for ln in bom.lines:
        each = ln.stock_length_m if ln.stock_length_m is not None else ln.length_mm / 1000
        rows.append(
            (
                "cable",
                ln.connection_id,
                ln.a_name,
                ln.b_name,
                ln.label,
                ln.cable_type,
                ln.count,
                ln.stock_length_m,
                ln.length_mm,
                _metres(each * ln.count),
                ln.note,
            )
        )
    for t in bom.totals:
        rows.append(
            (
                "subtotal",
                None,
                None,
                None,
                None,
                t.cable_type,
                t.count,
                t.stock_length_m,
                None,
                t.total_length_m,
                "custom lengths" if t.stock_length_m is None else None,
            )
        )
    rows.append(
        (
            "total",
            None,
            None,
            None,
            None,
            None,
            sum(t.count for t in bom.totals),
            None,
            None,
            _metres(sum(t.total_length_m for t in bom.totals)),
            f"{len(bom.excluded)} connection(s) leave the rack or have an unplaced end: not counted"
            if bom.excluded
            else None,
        )
    )
    return rows


def bom_csv(bom: Bom) -> str:
    """The BOM as CSV (RFC 4180: CRLF line ends, every cell quoted), safe to open in a
    spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([csv_cell(v) for v in row] for row in bom_csv_rows(bom))
    return out.getvalue()


def csv_filename(rack_name: str) -> str:
    """``<rack-name-slug>-bom.csv``: ASCII letters, digits and hyphens only, so the name
    is safe in a Content-Disposition header and on any file system."""
    ascii_name = unicodedata.normalize("NFKD", rack_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'rack'}-bom.csv"
