"""The domain's one model of a rack and the devices in it.

Storage builds these once from the database; the layout rules, the optimizer, the cable
BOM and the elevation all take them. Keyword-only, so a call site names every field.
"""

from __future__ import annotations

from dataclasses import dataclass

from .choices import ACCESS_WEIGHTS


@dataclass(frozen=True, slots=True, kw_only=True)
class Rack:
    name: str = ""
    u_height: int
    width_in: int = 19
    depth_mm: int | None = None
    max_weight_kg: float | None = None
    max_power_w: float | None = None
    ergonomic_u: float | None = None

    def __post_init__(self) -> None:
        if self.u_height < 1:
            raise ValueError(f"rack height must be at least 1U (got {self.u_height})")

    @property
    def ergonomic(self) -> float:
        """The ergonomic unit E (default: the middle of the rack)."""
        if self.ergonomic_u is None:
            return (self.u_height + 1) / 2
        return float(self.ergonomic_u)


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A device with the dimensions of its type; ``position_u`` None: not placed."""

    id: int | None
    name: str
    u_height: int
    position_u: int | None = None
    width_in: int = 19
    depth_mm: int | None = None
    weight_kg: float = 0.0
    power_w: float = 0.0
    access: str = "rarely"
    locked: bool = False
    category: str = "other"
    model: str = ""  # brand and model, for people (the elevation, proposals)

    def __post_init__(self) -> None:
        if self.u_height < 1:
            raise ValueError(f"device {self.name!r}: height must be at least 1U")
        if self.access not in ACCESS_WEIGHTS:
            raise ValueError(
                f"device {self.name!r}: access must be one of {', '.join(ACCESS_WEIGHTS)}"
                f" (got {self.access!r})"
            )
        if not (self.weight_kg >= 0 and self.power_w >= 0):
            raise ValueError(f"device {self.name!r}: weight and power must be >= 0")

    @property
    def top_u(self) -> int:
        """Highest unit taken (only meaningful when placed)."""
        return (self.position_u or 0) + self.u_height - 1

    @property
    def stored_id(self) -> int:
        """The id of a stored device: the optimizer and its proposals key devices by it."""
        if self.id is None:
            raise ValueError(f"device {self.name!r} has no id (not stored)")
        return self.id

    @property
    def access_weight(self) -> float:
        return ACCESS_WEIGHTS[self.access]


def span(position_u: int, u_height: int) -> str:
    """The units a device takes, as people write them: ``U3`` or ``U3-U4``."""
    top = position_u + u_height - 1
    return f"U{position_u}" if u_height == 1 else f"U{position_u}-U{top}"
