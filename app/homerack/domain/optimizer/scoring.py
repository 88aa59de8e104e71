"""The instance and its cost: inputs, results, the tuning settings, the cost of a layout
straight from the formulas (``evaluate``) and the index-based cost model the searches use."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..choices import DEFAULT_WEIGHTS
from ..model import Device, Rack

EPS = 1e-12  # numerical tolerance of cost comparisons


@dataclass(frozen=True, slots=True)
class Settings:
    """Tuning knobs of the search; the defaults are the measured ones (docs/optimizer.md)."""

    # Whole-rack exact DP is attempted when its estimated number of transitions is at
    # most this many per millisecond of time limit (about 1-2 us per transition in CPython).
    dp_transitions_per_ms: int = 150
    # Deterministic work budget of the heuristic: move evaluations per millisecond of limit.
    work_per_ms: int = 200
    # Iterated local search stops after this many (+ n/2) perturbations without improvement.
    stale_rounds: int = 12


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"link {self.a}-{self.b}: count must be at least 1")


@dataclass(frozen=True)
class Weights:
    cable: float = DEFAULT_WEIGHTS["cable"]
    weight: float = DEFAULT_WEIGHTS["weight"]
    thermal: float = DEFAULT_WEIGHTS["thermal"]
    access: float = DEFAULT_WEIGHTS["access"]

    def __post_init__(self) -> None:
        values = self.as_dict()
        bad = [
            f"{k}={v!r}"
            for k, v in values.items()
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0)
        ]
        if bad:
            raise ValueError(f"weights must be finite numbers >= 0 (got {', '.join(bad)})")
        if sum(values.values()) <= 0:
            raise ValueError("at least one weight must be greater than 0")

    def as_dict(self) -> dict[str, float]:
        return {
            "cable": self.cable,
            "weight": self.weight,
            "thermal": self.thermal,
            "access": self.access,
        }

    @property
    def total(self) -> float:
        return self.cable + self.weight + self.thermal + self.access


# -------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Score:
    cost: float
    score: float
    cable: float
    weight: float
    thermal: float
    access: float


@dataclass(frozen=True)
class Proof:
    optimal: bool
    lower_bound: float | None


@dataclass(frozen=True)
class Result:
    positions: dict[int, int]
    score: Score
    current: Score | None
    proof: Proof
    elapsed_ms: float
    explanations: dict[int, str]
    method: str = "local-search"


class Infeasible(Exception):
    """The request cannot be satisfied; ``reasons`` lists every problem found."""

    def __init__(self, reasons: Sequence[str]):
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))

    def __reduce__(self):  # pickled back from the optimizer's child process
        return Infeasible, (self.reasons,)


# ------------------------------------------------------------------------ evaluate


def evaluate(
    rack: Rack,
    devices: Iterable[Device],
    links: Iterable[Link],
    weights: Weights | None = None,
) -> Score:
    """Score of the placed devices (position None is ignored) straight from the formulas."""
    weights = weights if weights is not None else Weights()
    H = rack.u_height
    E = rack.ergonomic
    placed = [d for d in devices if d.position_u is not None]
    centre = {d.id: d.position_u + (d.u_height - 1) / 2 for d in placed}  # type: ignore[operator]
    n = len(placed)

    num = den = 0.0
    for link in links:
        if link.a in centre and link.b in centre:
            num += link.count * abs(centre[link.a] - centre[link.b])
            den += link.count
    cable = num / (den * (H - 1)) if den * (H - 1) > 0 else 0.0

    wsum = sum(d.weight_kg for d in placed)
    wnum = sum(d.weight_kg * (centre[d.id] - 1) for d in placed)
    weight = wnum / (wsum * (H - 1)) if wsum * (H - 1) > 0 else 0.0

    psum = sum(d.power_w for d in placed)
    by_centre = sorted(placed, key=lambda d: centre[d.id])
    tnum = 0.0
    k = 0
    while k < n:  # devices with equal centres (overlaps) are not "below" each other
        g = k
        while g < n and centre[by_centre[g].id] == centre[by_centre[k].id]:
            g += 1
        tnum += sum(d.power_w for d in by_centre[k:g]) * (n - g)
        k = g
    thermal = tnum / (psum * (n - 1)) if psum * (n - 1) > 0 else 0.0

    asum = sum(d.access_weight for d in placed)
    span = max(E - 1, H - E)
    anum = sum(d.access_weight * abs(centre[d.id] - E) for d in placed)
    access = anum / (asum * span) if asum * span > 0 else 0.0

    a = weights.as_dict()
    cost = (
        a["cable"] * cable + a["weight"] * weight + a["thermal"] * thermal + a["access"] * access
    ) / weights.total
    return Score(
        cost=cost, score=1 - cost, cable=cable, weight=weight, thermal=thermal, access=access
    )


# ----------------------------------------------------------------------- the model


class CostModel:
    """Index-based view of an instance with the cost split into cheap parts.

    ``cost = kc * sum n |c_i - c_j| + sum_i ftab[i][u_i] + kt * sum_i p_i (n - 1 - rank_i)``
    where ``ftab`` holds the (weighted, normalised) weight and access terms.
    """

    def __init__(
        self, rack: Rack, devices: Sequence[Device], links: Iterable[Link], weights: Weights
    ):
        H = self.H = rack.u_height
        n = self.n = len(devices)
        self.devices = devices
        self.E = E = rack.ergonomic
        idx = {d.id: i for i, d in enumerate(devices)}
        self.h = [d.u_height for d in devices]
        self.hh = [(d.u_height - 1) / 2 for d in devices]
        self.w = [float(d.weight_kg) for d in devices]
        self.p = [float(d.power_w) for d in devices]
        self.a = [d.access_weight for d in devices]
        total = weights.total
        merged: dict[tuple[int, int], int] = {}
        ncount = 0
        for link in links:
            if link.a in idx and link.b in idx:
                ncount += link.count
                if link.a != link.b:
                    i, j = sorted((idx[link.a], idx[link.b]))
                    merged[(i, j)] = merged.get((i, j), 0) + link.count
        self.links = [(i, j, c) for (i, j), c in sorted(merged.items())]
        self.adj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for i, j, c in self.links:
            self.adj[i].append((j, c))
            self.adj[j].append((i, c))
        den_c = ncount * (H - 1)
        self.kc = weights.cable / total / den_c if den_c > 0 else 0.0
        den_w = sum(self.w) * (H - 1)
        self.kw = weights.weight / total / den_w if den_w > 0 else 0.0
        den_t = sum(self.p) * (n - 1)
        self.kt = weights.thermal / total / den_t if den_t > 0 else 0.0
        span = max(E - 1, H - E)
        den_a = sum(self.a) * span
        self.ka = weights.access / total / den_a if den_a > 0 else 0.0
        # ftab[i][u]: weight + access cost of device i at lowest unit u (index 0 unused)
        self.ftab: list[list[float]] = []
        for i in range(n):
            row = [0.0]
            for u in range(1, H - self.h[i] + 2):
                centre = u + self.hh[i]
                row.append(
                    self.kw * self.w[i] * (centre - 1) + self.ka * self.a[i] * abs(centre - E)
                )
            self.ftab.append(row)

    def cost(self, pos: Sequence[int]) -> float:
        hh = self.hh
        cen = [pos[i] + hh[i] for i in range(self.n)]
        cab = 0.0
        for i, j, c in self.links:
            cab += c * abs(cen[i] - cen[j])
        f = 0.0
        for i in range(self.n):
            f += self.ftab[i][pos[i]]
        order = sorted(range(self.n), key=cen.__getitem__)
        th = 0.0
        last = self.n - 1
        p = self.p
        for r, i in enumerate(order):
            th += p[i] * (last - r)
        return self.kc * cab + f + self.kt * th
