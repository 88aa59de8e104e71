"""Rack layout rules: placement inside the rack, overlaps, widths, depths, budgets.

Pure functions over the domain model. Callers (device create/move, rack and device-type
updates, import) build the whole resulting layout and ask for its problems, so one set
of rules covers every way a layout can change. The optimizer's feasibility check asks
the same functions, so a broken rule reads the same whichever route reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Device, Rack, span


@dataclass(frozen=True, slots=True)
class LayoutProblem:
    """kind is one of: outside, overlap, width, depth, weight, power."""

    kind: str
    device_id: int | None
    reason: str


def _fmt(x: float) -> str:
    return f"{x:g}"


def outside_problem(rack: Rack, d: Device) -> LayoutProblem | None:
    """A placed device that does not lie entirely inside the rack."""
    if d.position_u is None:
        return None
    if d.position_u < 1:
        return LayoutProblem("outside", d.id, f"device '{d.name}' starts below U1")
    if d.top_u > rack.u_height:
        return LayoutProblem(
            "outside",
            d.id,
            f"device '{d.name}' ({d.u_height}U at U{d.position_u}) would end at U{d.top_u}, "
            f"above the top of rack '{rack.name}' ({rack.u_height}U)",
        )
    return None


def height_problems(rack: Rack, d: Device) -> list[LayoutProblem]:
    """A device taller than the rack fits nowhere in it."""
    if d.u_height <= rack.u_height:
        return []
    return [
        LayoutProblem(
            "outside",
            d.id,
            f"device '{d.name}' is {d.u_height}U tall, rack '{rack.name}' is {rack.u_height}U",
        )
    ]


def fit_problems(rack: Rack, d: Device) -> list[LayoutProblem]:
    """The device's width and depth against the rack's (position does not matter)."""
    problems = []
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
    return problems


def overlap_problems(devices: Iterable[Device]) -> list[LayoutProblem]:
    """Every pair of placed devices sharing a unit."""
    ordered = sorted(
        ((d.position_u, d) for d in devices if d.position_u is not None),
        key=lambda t: (t[0], t[1].name),
    )
    problems = []
    # Sorted by position, a device can only overlap the ones starting before its top.
    for i, (u, d) in enumerate(ordered):
        for other_u, other in ordered[i + 1 :]:
            if other_u > d.top_u:
                break
            problems.append(
                LayoutProblem(
                    "overlap",
                    other.id,
                    f"devices '{d.name}' ({span(u, d.u_height)}) and "
                    f"'{other.name}' ({span(other_u, other.u_height)}) overlap",
                )
            )
    return problems


def budget_problems(rack: Rack, devices: Sequence[Device]) -> list[LayoutProblem]:
    """Total weight and power of ``devices`` against the rack's budgets."""
    budgets = (
        ("weight", "kg", sum(d.weight_kg for d in devices), rack.max_weight_kg),
        ("power", "W", sum(d.power_w for d in devices), rack.max_power_w),
    )
    return [
        LayoutProblem(
            kind,
            None,
            f"total {kind} {_fmt(round(total, 2))} {unit} exceeds the budget "
            f"of rack '{rack.name}' ({_fmt(limit)} {unit})",
        )
        for kind, unit, total, limit in budgets
        if limit is not None and total > limit + 1e-9
    ]


def layout_problems(rack: Rack, devices: Iterable[Device]) -> list[LayoutProblem]:
    """Every rule the placed layout breaks, in a stable order (empty list: it is valid)."""
    devices = sorted(devices, key=lambda d: (d.position_u, d.name))
    problems: list[LayoutProblem] = []
    for d in devices:
        outside = outside_problem(rack, d)
        if outside is not None:
            problems.append(outside)
        problems += fit_problems(rack, d)
    return problems + overlap_problems(devices) + budget_problems(rack, devices)


def utilization(rack: Rack, devices: Iterable[Device]) -> dict:
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
