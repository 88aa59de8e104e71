"""Rack layout rules: placement inside the rack, overlaps, widths, depths, budgets.

Pure functions over plain dataclasses. Callers (device create/move, rack and
device-type updates, import) build the whole resulting layout and ask for its
problems, so one set of rules covers every way a layout can change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RackInfo:
    name: str
    u_height: int
    width_in: int = 19
    depth_mm: int | None = None
    max_weight_kg: float | None = None
    max_power_w: float | None = None


@dataclass(frozen=True)
class Placed:
    """A device in a rack, with the dimensions of its device type."""

    id: int | None
    name: str
    position_u: int
    u_height: int
    width_in: int = 19
    depth_mm: int | None = None
    weight_kg: float = 0.0
    power_w: float = 0.0

    @property
    def top_u(self) -> int:
        return self.position_u + self.u_height - 1

    @property
    def span(self) -> str:
        return f"U{self.position_u}" if self.u_height == 1 else f"U{self.position_u}-U{self.top_u}"


@dataclass(frozen=True)
class LayoutProblem:
    """kind is one of: outside, overlap, width, depth, weight, power."""

    kind: str
    device_id: int | None
    reason: str


def _fmt(x: float) -> str:
    return f"{x:g}"


def layout_problems(rack: RackInfo, devices: Iterable[Placed]) -> list[LayoutProblem]:
    """Every rule the layout breaks, in a stable order (empty list: the layout is valid)."""
    devices = sorted(devices, key=lambda d: (d.position_u, d.name))
    problems: list[LayoutProblem] = []
    for d in devices:
        if d.position_u < 1:
            problems.append(LayoutProblem("outside", d.id, f"device '{d.name}' starts below U1"))
        elif d.top_u > rack.u_height:
            problems.append(
                LayoutProblem(
                    "outside",
                    d.id,
                    f"device '{d.name}' ({d.u_height}U at U{d.position_u}) "
                    f"would end at U{d.top_u}, "
                    f"above the top of rack '{rack.name}' ({rack.u_height}U)",
                )
            )
        if d.width_in != rack.width_in:
            problems.append(
                LayoutProblem(
                    "width",
                    d.id,
                    f"device '{d.name}' is {d.width_in}-inch equipment, rack '{rack.name}' is "
                    f"{rack.width_in}-inch (mount it on a shelf device instead)",
                )
            )
        if rack.depth_mm is not None and d.depth_mm is not None and d.depth_mm > rack.depth_mm:
            problems.append(
                LayoutProblem(
                    "depth",
                    d.id,
                    f"device '{d.name}' is {d.depth_mm} mm deep, rack '{rack.name}' takes "
                    f"{rack.depth_mm} mm",
                )
            )
    # Sorted by position, a device can only overlap the ones starting before its top.
    for i, d in enumerate(devices):
        for other in devices[i + 1 :]:
            if other.position_u > d.top_u:
                break
            problems.append(
                LayoutProblem(
                    "overlap",
                    other.id,
                    f"devices '{d.name}' ({d.span}) and '{other.name}' ({other.span}) overlap",
                )
            )
    budgets = (
        ("weight", "kg", sum(d.weight_kg for d in devices), rack.max_weight_kg),
        ("power", "W", sum(d.power_w for d in devices), rack.max_power_w),
    )
    for kind, unit, total, limit in budgets:
        if limit is not None and total > limit + 1e-9:
            problems.append(
                LayoutProblem(
                    kind,
                    None,
                    f"total {kind} {_fmt(round(total, 2))} {unit} exceeds the budget "
                    f"of rack '{rack.name}' ({_fmt(limit)} {unit})",
                )
            )
    return problems


def utilization(rack: RackInfo, devices: Iterable[Placed]) -> dict:
    """Used and free units, weight and power against the rack's budgets."""
    devices = list(devices)
    used = sum(d.u_height for d in devices)
    weight = round(sum(d.weight_kg for d in devices), 3)
    power = round(sum(d.power_w for d in devices), 3)

    def pct(value: float, limit: float | None) -> float | None:
        return None if not limit else round(100.0 * value / limit, 1)

    return {
        "used_u": used,
        "free_u": rack.u_height - used,
        "used_pct": pct(used, rack.u_height),
        "weight_kg": weight,
        "max_weight_kg": rack.max_weight_kg,
        "weight_pct": pct(weight, rack.max_weight_kg),
        "power_w": power,
        "max_power_w": rack.max_power_w,
        "power_pct": pct(power, rack.max_power_w),
    }
