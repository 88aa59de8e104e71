"""Rack placement optimizer (pure Python, stdlib only).

A rack has units 1..H (1 = bottom). A device at lowest unit ``u`` with height ``h``
has its centre at ``c = u + (h - 1) / 2``. The cost of a layout is a weighted mean of
four terms, each in [0, 1] (a term whose denominator is 0 is 0):

* cable   ``sum n_k |c_i - c_j| / (sum n_k (H - 1))``
* weight  ``sum w_i (c_i - 1) / (sum w_i (H - 1))``               (heavy low)
* thermal ``sum_{c_i < c_j} p_i / (sum p_i (n - 1))``             (hot high)
* access  ``sum a_i |c_i - E| / (sum a_i max(E - 1, H - E))``    (E = ergonomic unit)

``cost = sum alpha_t term_t / sum alpha_t`` and ``score = 1 - cost``.

Algorithm (see docs/optimizer.md for the measurements behind the choice):

* The thermal term only depends on the *rank* of each device (``p_i`` times the number
  of devices above it) and the cable term is the integral over the rack height of the
  cut between the devices below and above a horizontal line. Both depend only on *which
  set* of devices is below the current unit, so a dynamic programme over
  ``(set of placed devices, next free unit)`` built bottom-up is exact. It is used for
  the whole rack when the state space is small (it proves optimality), and on windows
  of a few consecutive devices as a large-neighbourhood move otherwise.
* Larger racks: greedy constructions (plus the current layout as an incumbent), then
  local search with incremental cost evaluation (insertions, equal-height swaps,
  relocations into free gaps, exact window re-optimisation), then iterated local
  search with small random perturbations. The effort is bounded by a deterministic
  work budget derived from ``time_limit_ms`` (so a seed always gives the same layout);
  the wall clock is only a safety cap.
* A valid lower bound is computed from per-term relaxations (unit-piece assignment for
  weight and access, sorted powers for thermal, adjacency and star bounds for cables).
"""

from __future__ import annotations

import bisect
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .choices import ACCESS_WEIGHTS, DEFAULT_WEIGHTS

__all__ = [
    "ACCESS_WEIGHTS",
    "DeviceSpec",
    "Infeasible",
    "Link",
    "Proof",
    "RackSpec",
    "Result",
    "Score",
    "Weights",
    "evaluate",
    "optimize",
]

_EPS = 1e-12
# Whole-rack exact DP is attempted when its estimated number of transitions is at most
# this many per millisecond of time limit (about 1-2 us per transition in CPython).
_DP_TRANSITIONS_PER_MS = 150
# Deterministic work budget of the heuristic: move evaluations per millisecond of limit.
_WORK_PER_MS = 200
# Iterated local search stops after this many (+ n/2) perturbations without improvement.
_STALE_ROUNDS = 12


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class RackSpec:
    u_height: int
    width_in: int = 19
    ergonomic_u: float | None = None
    max_weight_kg: float | None = None
    max_power_w: float | None = None

    def __post_init__(self) -> None:
        if self.u_height < 1:
            raise ValueError(f"rack height must be at least 1U (got {self.u_height})")

    @property
    def ergonomic(self) -> float:
        """The ergonomic unit E (default: the middle of the rack)."""
        if self.ergonomic_u is None:
            return (self.u_height + 1) / 2
        return float(self.ergonomic_u)


@dataclass(frozen=True)
class DeviceSpec:
    id: int
    name: str
    u_height: int
    weight_kg: float
    power_w: float
    access: str
    position_u: int | None
    locked: bool = False
    width_in: int = 19
    category: str = "other"

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
    def access_weight(self) -> float:
        return ACCESS_WEIGHTS[self.access]


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
    rack: RackSpec,
    devices: Iterable[DeviceSpec],
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


# ---------------------------------------------------------------- feasibility checks


def _units(u: int, h: int) -> str:
    return f"U{u}" if h == 1 else f"U{u}-{u + h - 1}"


def _feasibility(rack: RackSpec, devices: Sequence[DeviceSpec]) -> list[str]:
    H = rack.u_height
    reasons: list[str] = []
    seen: set[int] = set()
    for d in devices:
        if d.id in seen:
            reasons.append(f"device id {d.id} is listed twice")
        seen.add(d.id)
    for d in devices:
        if d.u_height > H:
            reasons.append(f"device {d.name!r} is {d.u_height}U tall, rack is {H}U")
        if d.width_in != rack.width_in:
            reasons.append(f"device {d.name!r} is {d.width_in} in wide, rack is {rack.width_in} in")
    locked_ok: list[DeviceSpec] = []
    for d in devices:
        if not d.locked:
            continue
        if d.position_u is None:
            reasons.append(f"locked device {d.name!r} has no position")
        elif d.position_u < 1 or d.position_u + d.u_height - 1 > H:
            reasons.append(
                f"locked device {d.name!r} ({_units(d.position_u, d.u_height)})"
                f" is outside the rack (U1-{H})"
            )
        else:
            locked_ok.append(d)
    spans = [(d, int(d.position_u or 0)) for d in locked_ok]
    for k, (d, du) in enumerate(spans):
        for e, eu in spans[k + 1 :]:
            if du <= eu + e.u_height - 1 and eu <= du + d.u_height - 1:
                reasons.append(
                    f"locked device {d.name!r} ({_units(du, d.u_height)}) overlaps"
                    f" locked device {e.name!r} ({_units(eu, e.u_height)})"
                )
    total_w = sum(d.weight_kg for d in devices)
    if rack.max_weight_kg is not None and total_w > rack.max_weight_kg + 1e-9:
        reasons.append(f"weight {total_w:.1f} kg exceeds rack budget {rack.max_weight_kg:.1f} kg")
    total_p = sum(d.power_w for d in devices)
    if rack.max_power_w is not None and total_p > rack.max_power_w + 1e-9:
        reasons.append(f"power {total_p:.1f} W exceeds rack budget {rack.max_power_w:.1f} W")
    used: set[int] = set()
    for d, du in spans:
        used.update(range(du, du + d.u_height))
    need = sum(d.u_height for d in devices if not d.locked)
    free = H - len(used)
    if need > free:
        reasons.append(f"not enough free units: need {need}U, {free}U free")
    elif not reasons:
        segments = _segments(H, locked_ok)
        heights = [d.u_height for d in devices if not d.locked]
        if _pack(heights, [hi - lo + 1 for lo, hi in segments]) is None:
            gaps = ", ".join(f"{hi - lo + 1}U" for lo, hi in segments) or "none"
            big = ", ".join(f"{h}U" for h in sorted(heights, reverse=True) if h > 1)
            reasons.append(
                "the devices do not fit into the free gaps between locked devices"
                f" (free gaps: {gaps}; devices taller than 1U: {big})"
            )
    return reasons


def _segments(H: int, locked: Iterable[DeviceSpec]) -> list[tuple[int, int]]:
    """Maximal runs of units not occupied by locked devices, bottom-up."""
    occupied = [False] * (H + 2)
    for d in locked:
        if d.position_u is None:
            continue
        for u in range(max(1, d.position_u), min(H, d.position_u + d.u_height - 1) + 1):
            occupied[u] = True
    segs: list[tuple[int, int]] = []
    u = 1
    while u <= H:
        if occupied[u]:
            u += 1
            continue
        lo = u
        while u <= H and not occupied[u]:
            u += 1
        segs.append((lo, u - 1))
    return segs


def _pack(heights: Sequence[int], caps: Sequence[int]) -> list[int] | None:
    """Assign items (by index) to bins: returns the bin of each item, or None.

    Items of height 1 always fit once the total fits; taller ones are packed by a
    memoised depth-first search (largest first), which is exact.
    """
    if sum(heights) > sum(caps):
        return None
    order = sorted((i for i, h in enumerate(heights) if h > 1), key=lambda i: -heights[i])
    assign = [-1] * len(heights)
    failed: set[tuple[int, tuple[int, ...]]] = set()
    rem = list(caps)

    def dfs(k: int) -> bool:
        if k == len(order):
            return True
        key = (k, tuple(sorted(rem)))
        if key in failed:
            return False
        h = heights[order[k]]
        tried: set[int] = set()
        for b in range(len(rem)):
            if rem[b] >= h and rem[b] not in tried:
                tried.add(rem[b])
                rem[b] -= h
                assign[order[k]] = b
                if dfs(k + 1):
                    return True
                rem[b] += h
        failed.add(key)
        return False

    if not dfs(0):
        return None
    for i, h in enumerate(heights):
        if h == 1:
            b = next(b for b in range(len(rem)) if rem[b] >= 1)
            rem[b] -= 1
            assign[i] = b
    return assign


# ----------------------------------------------------------------------- the model


class _Model:
    """Index-based view of an instance with the cost split into cheap parts.

    ``cost = kc * sum n |c_i - c_j| + sum_i ftab[i][u_i] + kt * sum_i p_i (n - 1 - rank_i)``
    where ``ftab`` holds the (weighted, normalised) weight and access terms.
    """

    def __init__(
        self, rack: RackSpec, devices: Sequence[DeviceSpec], links: Iterable[Link], weights: Weights
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
                c = u + self.hh[i]
                row.append(self.kw * self.w[i] * (c - 1) + self.ka * self.a[i] * abs(c - E))
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


# ------------------------------------------------------------- exact subset DP


def _dp(
    m: _Model,
    lo: int,
    hi: int,
    region: Sequence[int],
    forced: dict[int, int],
    pos: Sequence[int],
    deadline: float | None = None,
) -> dict[int, int] | None:
    """Optimal placement of ``region`` devices inside units ``lo..hi``.

    Devices outside the region keep ``pos`` and must lie entirely outside ``lo..hi``;
    ``forced`` maps region devices to fixed lowest units. Returns ``{device: u}`` or
    None (no feasible arrangement, or the deadline passed).

    The DP walks the units bottom-up; a state is (set S of region devices already
    placed, next unit f). The cable cost is accumulated as the integral of the cut
    between devices below and above a horizontal line, which only depends on S (and on
    the fixed devices below and above the region); the thermal cost of a device only
    depends on how many region devices are below it; weight and access depend on f.
    """
    k = len(region)
    local = {x: t for t, x in enumerate(region)}
    wB = [0] * k
    wA = [0] * k
    nb: list[list[tuple[int, int]]] = [[] for _ in range(k)]
    for t, x in enumerate(region):
        for y, c in m.adj[x]:
            if y in local:
                nb[t].append((local[y], c))
            elif pos[y] < lo:
                wB[t] += c
            else:
                wA[t] += c
    base = [wA[t] - wB[t] + sum(c for _, c in nb[t]) for t in range(k)]
    hs = [m.h[x] for x in region]
    hh = [m.hh[x] for x in region]
    hh1 = [v + 1 for v in hh]
    ft = [m.ftab[x] for x in region]
    kc = m.kc
    pw = [m.kt * m.p[x] for x in region]
    forced_at = {u: local[x] for x, u in forced.items()}
    free_t = [t for t, x in enumerate(region) if x not in forced]
    nxt = [hi + 1] * (hi + 3)
    for f in range(hi, lo - 1, -1):
        nxt[f] = f if f in forced_at else nxt[f + 1]
    gaps = (hi - lo + 1) - sum(hs)
    if gaps < 0:
        return None
    full = (1 << k) - 1
    cut = {0: sum(wB)}
    hsum = {0: 0}
    layers: list[dict[int, float]] = [{} for _ in range(hi - lo + 2)]
    back: list[dict[int, tuple[int, int, int]]] = [{} for _ in range(hi - lo + 2)]
    layers[0][0] = 0.0
    for f in range(lo, hi + 1):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        fi = f - lo
        layer = layers[fi]
        if not layer:
            continue
        limit = nxt[f]
        ft_f = f in forced_at
        for mask, val in layer.items():
            cu = cut[mask]
            if ft_f:
                cands = [forced_at[f]]
            else:
                if fi - hsum[mask] < gaps:  # leave unit f empty
                    nv = val + kc * cu
                    tgt = layers[fi + 1]
                    old = tgt.get(mask)
                    if old is None or nv < old - _EPS:
                        tgt[mask] = nv
                        back[fi + 1][mask] = (fi, mask, -1)
                cands = [t for t in free_t if not (mask >> t) & 1 and f + hs[t] <= limit]
            pc = mask.bit_count()
            for t in cands:
                nm = mask | (1 << t)
                nc = cut.get(nm)
                if nc is None:
                    s = 0
                    for t2, c in nb[t]:
                        if (mask >> t2) & 1:
                            s += c
                    nc = cu + base[t] - 2 * s
                    cut[nm] = nc
                    hsum[nm] = hsum[mask] + hs[t]
                nv = val + kc * (cu * hh[t] + nc * hh1[t]) + ft[t][f] + pw[t] * (k - 1 - pc)
                ni = fi + hs[t]
                tgt = layers[ni]
                old = tgt.get(nm)
                if old is None or nv < old - _EPS:
                    tgt[nm] = nv
                    back[ni][nm] = (fi, mask, t)
        layers[fi] = {}  # free memory; back-pointers are kept
    last = hi - lo + 1
    if full not in layers[last]:
        return None
    out: dict[int, int] = {}
    fi, mask = last, full
    while fi > 0:
        pfi, pmask, t = back[fi][mask]
        if t >= 0:
            out[region[t]] = lo + pfi
        fi, mask = pfi, pmask
    return out


def _dp_estimate(k: int, gaps: int) -> float:
    """Rough number of DP transitions for k free devices and `gaps` empty units."""
    return (2**k) * (gaps + 1) * (k / 2 + 1)


# ----------------------------------------------------------------- local search


class _Search:
    def __init__(
        self,
        m: _Model,
        segments: list[tuple[int, int]],
        locked: dict[int, int],
        movable: list[int],
        rng: random.Random,
        deadline: float,
        budget: int,
    ):
        self.m = m
        self.segs = segments
        self.locked = locked
        self.movable = movable
        self.rng = rng
        self.deadline = deadline
        self.budget = budget
        self.work = 0
        self.pos = [0] * m.n
        for i, u in locked.items():
            self.pos[i] = u
        self.cost = 0.0
        by_h: dict[int, list[int]] = {}
        for i in movable:
            by_h.setdefault(m.h[i], []).append(i)
        self.pairs = [(x, y) for g in by_h.values() for a, x in enumerate(g) for y in g[a + 1 :]]

    # -- state ------------------------------------------------------------------
    def out_of_effort(self) -> bool:
        return self.work >= self.budget or time.perf_counter() > self.deadline

    def load(self, pos: Sequence[int]) -> None:
        self.pos = list(pos)
        self._rebuild()
        self.cost = self.m.cost(self.pos)

    def _rebuild(self) -> None:
        m = self.m
        occ = [-2] * (m.H + 2)
        for lo, hi in self.segs:
            for u in range(lo, hi + 1):
                occ[u] = -1
        for i in self.movable:
            for u in range(self.pos[i], self.pos[i] + m.h[i]):
                occ[u] = i
        self.occ = occ
        self.seqs: list[list[int]] = []
        self.starts: list[list[int]] = []
        for lo, hi in self.segs:
            seq: list[int] = []
            st: list[int] = []
            u = lo
            while u <= hi:
                x = occ[u]
                seq.append(x)
                st.append(u)
                u += m.h[x] if x >= 0 else 1
            self.seqs.append(seq)
            self.starts.append(st)
        cen = [self.pos[i] + m.hh[i] for i in range(m.n)]
        self.cen = cen
        self.order = sorted(range(m.n), key=cen.__getitem__)
        self.rank = [0] * m.n
        for r, i in enumerate(self.order):
            self.rank[i] = r
        self.cen_sorted = [cen[i] for i in self.order]
        pref = [0.0]
        for i in self.order:
            pref.append(pref[-1] + m.p[i])
        self.pref_p = pref
        run = [0] * (m.H + 2)
        for u in range(m.H, 0, -1):
            run[u] = run[u + 1] + 1 if occ[u] == -1 else 0
        self.free_run = run
        self.free_starts = [u for u in range(1, m.H + 1) if run[u]]

    def apply(self, changes: dict[int, int], delta: float) -> None:
        for x, u in changes.items():
            self.pos[x] = u
        self.cost += delta
        self._rebuild()

    def pos_from_seqs(self) -> list[int]:
        pos = list(self.pos)
        for (lo, _hi), seq in zip(self.segs, self.seqs, strict=True):
            u = lo
            for x in seq:
                if x >= 0:
                    pos[x] = u
                    u += self.m.h[x]
                else:
                    u += 1
        return pos

    # -- incremental evaluation -------------------------------------------------------
    def _delta(self, ch: dict[int, int]) -> float:
        m = self.m
        pos = self.pos
        cen = self.cen
        hh = m.hh
        ft = m.ftab
        adj = m.adj
        d = 0.0
        dc = 0.0
        for x, nu in ch.items():
            d += ft[x][nu] - ft[x][pos[x]]
            cxn = nu + hh[x]
            cxo = cen[x]
            for y, c in adj[x]:
                ny = ch.get(y)
                if ny is None:
                    cy = cen[y]
                    dc += c * (abs(cxn - cy) - abs(cxo - cy))
                elif y > x:
                    dc += c * (abs(cxn - ny - hh[y]) - abs(cxo - cen[y]))
        self.work += 1
        return d + m.kc * dc

    # -- neighbourhoods ------------------------------------------------------------------
    def insertions(self, reach: int) -> bool:
        """Move one item (device or empty unit) up to `reach` places within its segment.

        The deltas of all targets of one item are accumulated step by step: passing one
        more item only costs the links of that item and of the moving one.
        """
        improved = False
        items = [(s, i) for s, seq in enumerate(self.seqs) for i in range(len(seq))]
        self.rng.shuffle(items)
        for s, i0 in items:
            if self.out_of_effort():
                break
            seq = self.seqs[s]
            if i0 >= len(seq):
                continue
            best = -_EPS
            best_ch: dict[int, int] | None = None
            for step in (1, -1):
                d, ch = self._scan_insert(s, i0, step, reach)
                if ch is not None and d < best:
                    best, best_ch = d, ch
            if best_ch is not None:
                self.apply(best_ch, best)
                improved = True
        return improved

    def _scan_insert(
        self, s: int, i0: int, step: int, reach: int
    ) -> tuple[float, dict[int, int] | None]:
        """Best move of item i0 of segment s upwards (step 1) or downwards (step -1)."""
        m = self.m
        seq = self.seqs[s]
        starts = self.starts[s]
        pos = self.pos
        cen = self.cen
        h = m.h
        hh = m.hh
        ft = m.ftab
        adj = m.adj
        p = m.p
        x = seq[i0]
        hx = h[x] if x >= 0 else 1
        shift = -hx * step  # passed items move the other way
        shifted: set[int] = set()
        acc = 0.0  # f and cable deltas of the passed devices (links to x excluded)
        dth = 0.0
        best = math.inf
        best_j = -1
        newx = starts[i0]  # lowest unit of x after the move
        j_end = min(len(seq), i0 + reach + 1) if step > 0 else max(-1, i0 - reach - 1)
        kc = m.kc
        for j in range(i0 + step, j_end, step):
            y = seq[j]
            hy = h[y] if y >= 0 else 1
            newx += hy * step
            if y >= 0:
                cy = cen[y]
                acc += ft[y][pos[y] + shift] - ft[y][pos[y]]
                dc = 0.0
                for z, c in adj[y]:
                    if z == x:
                        continue
                    cz = cen[z]
                    if z in shifted:
                        dc -= c * (abs(cz + shift - cy) - abs(cz - cy))
                    else:
                        dc += c * (abs(cy + shift - cz) - abs(cy - cz))
                acc += kc * dc
                shifted.add(y)
                if x >= 0:
                    dth += (p[y] - p[x]) * step
            elif x < 0:
                continue
            if x >= 0:
                ux = newx
                cxn = ux + hh[x]
                cxo = cen[x]
                dx = 0.0
                for z, c in adj[x]:
                    cz = cen[z]
                    cz2 = cz + shift if z in shifted else cz
                    dx += c * (abs(cxn - cz2) - abs(cxo - cz))
                d = acc + ft[x][ux] - ft[x][pos[x]] + kc * dx + m.kt * dth
            else:
                if not shifted:
                    continue
                d = acc
            self.work += 1
            if d < best:
                best, best_j = d, j
        if best_j < 0:
            return math.inf, None
        ch: dict[int, int] = {}
        lo, hi = (i0 + 1, best_j + 1) if step > 0 else (best_j, i0)
        for y in seq[lo:hi]:
            if y >= 0:
                ch[y] = pos[y] + shift
        if x >= 0:
            if step > 0:
                yj = seq[best_j]
                ch[x] = starts[best_j] + (h[yj] if yj >= 0 else 1) - hx
            else:
                ch[x] = starts[best_j]
        return best, ch

    def swaps(self) -> bool:
        """Exchange two devices of equal height anywhere in the rack."""
        m = self.m
        p = m.p
        improved = False
        pairs = list(self.pairs)
        self.rng.shuffle(pairs)
        for n_done, (x, y) in enumerate(pairs):
            if n_done % 64 == 0 and self.out_of_effort():
                break
            px, py = self.pos[x], self.pos[y]
            ch = {x: py, y: px}
            d = self._delta(ch) + m.kt * (p[x] - p[y]) * (self.rank[x] - self.rank[y])
            if d < -_EPS:
                self.apply(ch, d)
                improved = True
        return improved

    def relocations(self) -> bool:
        """Move a device into a free run of units elsewhere (possibly another segment)."""
        m = self.m
        p = m.p
        kt = m.kt
        improved = False
        movable = list(self.movable)
        self.rng.shuffle(movable)
        for x in movable:
            if self.out_of_effort():
                break
            hx = m.h[x]
            px = p[x]
            run = self.free_run
            csort = self.cen_sorted
            pref = self.pref_p
            rx = self.rank[x]
            cx = self.cen[x]
            best = -_EPS
            best_ch: dict[int, int] | None = None
            for u in self.free_starts:
                if run[u] < hx:
                    continue
                ch = {x: u}
                d = self._delta(ch)
                # thermal: x passes the devices whose centre lies between old and new
                cn = u + m.hh[x]
                if cn > cx:
                    r_hi = bisect.bisect_left(csort, cn)
                    dth = pref[r_hi] - pref[rx + 1] - px * (r_hi - rx - 1)
                else:
                    r_lo = bisect.bisect_right(csort, cn)
                    dth = px * (rx - r_lo) - (pref[rx] - pref[r_lo])
                d += kt * dth
                if d < best:
                    best, best_ch = d, ch
            if best_ch is not None:
                self.apply(best_ch, best)
                improved = True
        return improved

    def windows(self, size: int, extra: int) -> bool:
        """Re-optimise runs of `size` consecutive devices exactly with the subset DP."""
        m = self.m
        improved = False
        for s in range(len(self.segs)):
            devs_idx = [i for i, x in enumerate(self.seqs[s]) if x >= 0]
            if len(devs_idx) < 2:
                continue
            stride = max(1, size // 2)
            starts_w = list(range(0, max(1, len(devs_idx) - size + 1), stride))
            if starts_w[-1] != max(0, len(devs_idx) - size):
                starts_w.append(max(0, len(devs_idx) - size))
            for w0 in starts_w:
                if self.out_of_effort():
                    return improved
                seq = self.seqs[s]
                devs_idx = [i for i, x in enumerate(seq) if x >= 0]
                if w0 >= len(devs_idx):
                    continue
                chosen = devs_idx[w0 : w0 + size]
                i0, i1 = chosen[0], chosen[-1]
                e = 0
                while i0 > 0 and seq[i0 - 1] < 0 and e < extra:
                    i0 -= 1
                    e += 1
                e = 0
                while i1 + 1 < len(seq) and seq[i1 + 1] < 0 and e < extra:
                    i1 += 1
                    e += 1
                region = [x for x in seq[i0 : i1 + 1] if x >= 0]
                st = self.starts[s]
                lo = st[i0]
                last = seq[i1]
                hi = st[i1] + (m.h[last] if last >= 0 else 1) - 1
                gaps = (hi - lo + 1) - sum(m.h[x] for x in region)
                self.work += int(_dp_estimate(len(region), gaps) // 20) + 1
                sol = _dp(m, lo, hi, region, {}, self.pos)
                if sol is None:
                    continue
                ch = {x: u for x, u in sol.items() if u != self.pos[x]}
                if not ch:
                    continue
                new = list(self.pos)
                for x, u in ch.items():
                    new[x] = u
                nc = m.cost(new)
                if nc < self.cost - 1e-10:
                    self.apply(ch, nc - self.cost)
                    self.cost = nc
                    improved = True
        return improved

    def descend(self, reach: int = 8, window: int = 6) -> None:
        while not self.out_of_effort():
            while not self.out_of_effort() and (
                self.insertions(reach) or self.swaps() or self.relocations()
            ):
                pass
            if not self.windows(window, 2):
                break
        self.cost = self.m.cost(self.pos)  # drop accumulated rounding

    def perturb(self, strength: int) -> None:
        """Shuffle a few short runs of items; with several segments, also move a device
        into another segment (at a random place, taking empty units from there)."""
        rng = self.rng
        for _ in range(strength):
            if len(self.seqs) > 1 and rng.random() < 0.5 and self._hop():
                continue
            segs = [s for s, seq in enumerate(self.seqs) if len(seq) >= 2]
            if not segs:
                break
            seq = self.seqs[rng.choice(segs)]
            k = min(len(seq), rng.randint(3, 6))
            i = rng.randint(0, len(seq) - k)
            part = seq[i : i + k]
            rng.shuffle(part)
            seq[i : i + k] = part
        self.load(self.pos_from_seqs())

    def _hop(self) -> bool:
        rng = self.rng
        h = self.m.h
        src = [s for s, seq in enumerate(self.seqs) if any(x >= 0 for x in seq)]
        if not src:
            return False
        a = rng.choice(src)
        x = rng.choice([x for x in self.seqs[a] if x >= 0])
        dst = [s for s, seq in enumerate(self.seqs) if s != a and seq.count(-1) >= h[x]]
        if not dst:
            return False
        b = rng.choice(dst)
        seq_a, seq_b = self.seqs[a], self.seqs[b]
        i = seq_a.index(x)
        seq_a[i : i + 1] = [-1] * h[x]
        for _ in range(h[x]):
            blanks = [k for k, y in enumerate(seq_b) if y < 0]
            del seq_b[rng.choice(blanks)]
        seq_b.insert(rng.randint(0, len(seq_b)), x)
        return True


# ---------------------------------------------------------------- constructions


def _construct(
    m: _Model,
    segments: list[tuple[int, int]],
    locked: dict[int, int],
    order: Sequence[int],
    packing: list[int] | None,
) -> list[int] | None:
    """Place devices in `order` bottom-up, first fit into the segments."""
    pos = [0] * m.n
    for i, u in locked.items():
        pos[i] = u
    free = [hi - lo + 1 for lo, hi in segments]
    fill = [lo for lo, _ in segments]
    for x in order:
        for s in range(len(segments)):
            if free[s] >= m.h[x]:
                pos[x] = fill[s]
                fill[s] += m.h[x]
                free[s] -= m.h[x]
                break
        else:
            break
    else:
        return pos
    if packing is None:
        return None
    fill = [lo for lo, _ in segments]
    for x in order:
        s = packing[x]
        pos[x] = fill[s]
        fill[s] += m.h[x]
    return pos


def _orders(m: _Model, movable: list[int], rng: random.Random) -> list[list[int]]:
    """A few greedy orders (bottom to top) for the construction."""
    n = m.n
    wmax = max(m.w) or 1.0
    pmax = max(m.p) or 1.0
    E = m.E
    H = m.H
    orders: list[list[int]] = []

    # 1. separable pull: heavy down, hot up, accessed towards E
    def key(i: int) -> float:
        down = m.kw * m.w[i] * H
        up = m.kt * m.p[i] * n
        acc = m.ka * m.a[i] * H
        return (up - down) + acc * ((E - 1) / max(H - 1, 1) - 0.5)

    orders.append(sorted(movable, key=key))
    # 2. heavy first, then by power
    orders.append(sorted(movable, key=lambda i: -m.w[i] / wmax + m.p[i] / pmax))
    # 3. connectivity: greedy chain from the most connected device, keeping neighbours near
    strength = [sum(c for _, c in m.adj[i]) for i in range(n)]
    if any(strength[i] for i in movable):
        mov = set(movable)
        seq: list[int] = []
        placed: set[int] = set()
        start = orders[0][0]
        seq.append(start)
        placed.add(start)
        while len(seq) < len(movable):
            best, bval = -1, -1.0
            for i in orders[0]:
                if i in placed:
                    continue
                link = sum(c for y, c in m.adj[i] if y in placed and y in mov)
                val = link * 10 + 1.0 / (1 + orders[0].index(i))
                if val > bval:
                    best, bval = i, val
            seq.append(best)
            placed.add(best)
        orders.append(seq)
    # 4. a random order
    r = list(movable)
    rng.shuffle(r)
    orders.append(r)
    return orders


# ------------------------------------------------------------------ lower bound


def _lower_bound(
    m: _Model, segments: list[tuple[int, int]], locked: dict[int, int], movable: list[int]
) -> float:
    H, E, n = m.H, m.E, m.n
    free_units = [u for lo, hi in segments for u in range(lo, hi + 1)]
    # weight: unit pieces of density w/h on the lowest free units (exact for locked)
    lb_w = sum(m.w[i] * (u + m.hh[i] - 1) for i, u in locked.items())
    pieces = sorted((m.w[i] / m.h[i] for i in movable for _ in range(m.h[i])), reverse=True)
    lb_w += sum(d * (u - 1) for d, u in zip(pieces, sorted(free_units), strict=False))
    # access: unit pieces nearest to E, corrected for pieces of one device straddling E
    lb_a = sum(m.a[i] * abs(u + m.hh[i] - E) for i, u in locked.items())
    pieces = sorted((m.a[i] / m.h[i] for i in movable for _ in range(m.h[i])), reverse=True)
    dist = sorted(abs(u - E) for u in free_units)
    piece_sum = sum(d * x for d, x in zip(pieces, dist, strict=False))
    corr = 0.0
    for i in movable:
        if m.a[i] == 0 or m.h[i] == 1:
            continue
        h = m.h[i]
        kappa = max(
            sum(abs(u + t - E) for t in range(h)) - h * abs(u + m.hh[i] - E)
            for u in range(1, H - h + 2)
        )
        corr += m.a[i] * kappa / h
    lb_a += max(0.0, piece_sum - corr)
    # thermal: hottest on top, ignoring the locked positions
    ps = sorted(m.p)
    lb_t = sum(p * (n - 1 - r) for r, p in enumerate(ps))

    # cable: per device, max(star relaxation, sum of per-link bounds); halved
    def centres_of(j: int) -> list[float]:
        return [u + m.hh[j] for lo, hi in segments for u in range(lo, hi - m.h[j] + 2)]

    movable_set = set(movable)
    cache: dict[int, list[float]] = {}
    link_lb: dict[tuple[int, int], float] = {}
    for i, j, _c in m.links:
        if i in movable_set and j in movable_set:
            v = (m.h[i] + m.h[j]) / 2
        elif i not in movable_set and j not in movable_set:
            v = abs(locked[i] + m.hh[i] - locked[j] - m.hh[j])
        else:
            fixed, mov = (i, j) if i not in movable_set else (j, i)
            cf = locked[fixed] + m.hh[fixed]
            cs = cache.setdefault(mov, centres_of(mov))
            v = min((abs(cf - c) for c in cs), default=(m.h[i] + m.h[j]) / 2)
        link_lb[(i, j)] = v
    lb_c2 = 0.0
    for i in range(n):
        if not m.adj[i]:
            continue
        per_link = sum(c * link_lb[(min(i, y), max(i, y))] for y, c in m.adj[i])
        dens = sorted((c / m.h[y] for y, c in m.adj[i] for _ in range(m.h[y])), reverse=True)
        star = sum(d * ((m.h[i] + 1) / 2 + k // 2) for k, d in enumerate(dens))
        lb_c2 += max(per_link, star)
    lb_c = lb_c2 / 2
    return m.kc * lb_c + m.kw * lb_w + m.ka * lb_a + m.kt * lb_t


# ---------------------------------------------------------------- explanations


def _explain(m: _Model, devices: Sequence[DeviceSpec], new: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    n = m.n
    heaviest = max(range(n), key=lambda i: m.w[i]) if n else -1
    hottest = max(range(n), key=lambda i: m.p[i]) if n else -1
    tops = sorted(new[i] + m.h[i] - 1 for i in range(n))
    lowest_start = min(new) if n else 1
    for i, d in enumerate(devices):
        old = d.position_u
        u = new[i]
        if old == u:
            continue
        where = _units(u, m.h[i])
        head = (
            f"added at {where}" if old is None else f"moved from {_units(old, m.h[i])} to {where}"
        )
        pulls = {
            "weight": m.kw * m.w[i],
            "thermal": m.kt * m.p[i] * n / m.H,
            "access": m.ka * m.a[i],
            "cable": m.kc * sum(c for _, c in m.adj[i]),
        }
        reason = max(pulls, key=lambda k: pulls[k])
        if pulls[reason] <= 0:
            out[d.id] = head
            continue
        if reason == "cable":
            y, c = max(m.adj[i], key=lambda t: (t[1], -abs(new[t[0]] - u)))
            text = f"connected to {devices[y].name!r} by {c} cable{'s' if c != 1 else ''}"
        elif reason == "weight":
            label = "heaviest device" if i == heaviest else f"heavy device ({m.w[i]:.1f} kg)"
            text = f"{label}: placed low" if u > lowest_start else f"{label}: at the bottom"
        elif reason == "thermal":
            label = "hottest device" if i == hottest else f"hot device ({m.p[i]:.0f} W)"
            top = u + m.h[i] - 1 >= (tops[-1] if tops else u)
            text = f"{label}: {'at the top' if top else 'placed high'} so its heat rises clear"
        else:
            text = f"{d.access} access: placed near the ergonomic height U{round(m.E)}"
        out[d.id] = f"{head}: {text}"
    return out


# -------------------------------------------------------------------- optimize


def _valid_layout(m: _Model, segments: list[tuple[int, int]], pos: Sequence[int]) -> bool:
    free = [False] * (m.H + 2)
    for lo, hi in segments:
        for u in range(lo, hi + 1):
            free[u] = True
    used = [False] * (m.H + 2)
    for i, d in enumerate(m.devices):
        if d.locked:
            continue
        u = pos[i]
        if u < 1 or u + m.h[i] - 1 > m.H:
            return False
        for v in range(u, u + m.h[i]):
            if not free[v] or used[v]:
                return False
            used[v] = True
    return True


def _warm_start(
    m: _Model, segments: list[tuple[int, int]], locked: dict[int, int], movable: list[int]
) -> list[int] | None:
    """Keep placed devices where they are (if they fit), add the others into gaps."""
    pos = [0] * m.n
    for i, u in locked.items():
        pos[i] = u
    occ = [True] * (m.H + 2)
    for lo, hi in segments:
        for u in range(lo, hi + 1):
            occ[u] = False
    rest = []
    for i in movable:
        u = m.devices[i].position_u
        if (
            u is not None
            and u >= 1
            and u + m.h[i] - 1 <= m.H
            and not any(occ[v] for v in range(u, u + m.h[i]))
        ):
            pos[i] = u
            for v in range(u, u + m.h[i]):
                occ[v] = True
        else:
            rest.append(i)
    for i in sorted(rest, key=lambda i: -m.h[i]):
        for u in range(1, m.H - m.h[i] + 2):
            if not any(occ[v] for v in range(u, u + m.h[i])):
                pos[i] = u
                for v in range(u, u + m.h[i]):
                    occ[v] = True
                break
        else:
            return None
    return pos


def optimize(
    rack: RackSpec,
    devices: Sequence[DeviceSpec],
    links: Iterable[Link],
    weights: Weights | None = None,
    time_limit_ms: int = 1000,
    seed: int = 0,
) -> Result:
    """Propose positions for every device in `devices` (placed or to be added)."""
    t0 = time.perf_counter()
    weights = weights if weights is not None else Weights()
    devices = list(devices)
    links = list(links)
    reasons = _feasibility(rack, devices)
    if reasons:
        raise Infeasible(reasons)
    deadline = t0 + max(time_limit_ms, 1) / 1000
    placed = [d for d in devices if d.position_u is not None]
    current = evaluate(rack, placed, links, weights) if placed else None

    m = _Model(rack, devices, links, weights)
    locked_pos = {
        i: int(d.position_u) for i, d in enumerate(devices) if d.locked and d.position_u is not None
    }
    movable = [i for i, d in enumerate(devices) if not d.locked]
    segments = _segments(rack.u_height, [d for d in devices if d.locked])
    incumbent: list[int] | None = None
    if len(placed) == len(devices):
        cur = [int(d.position_u) for d in devices if d.position_u is not None]
        if _valid_layout(m, segments, cur):
            incumbent = cur

    best: list[int] | None = None
    optimal = False
    method = "local-search"
    gaps = sum(hi - lo + 1 for lo, hi in segments) - sum(m.h[i] for i in movable)
    if _dp_estimate(len(movable), gaps) <= _DP_TRANSITIONS_PER_MS * max(time_limit_ms, 1):
        base = [0] * m.n
        for i, u in locked_pos.items():
            base[i] = u
        # the DP gets half of the time; if it overruns, the heuristic still has the rest
        dp_deadline = t0 + max(time_limit_ms, 1) / 2000
        sol = _dp(m, 1, m.H, list(range(m.n)), locked_pos, base, dp_deadline)
        if sol is not None:
            best = [sol[i] for i in range(m.n)]
            optimal = True
            method = "exact-dp"
    if best is None:
        best = _heuristic(
            m,
            segments,
            locked_pos,
            movable,
            incumbent,
            seed,
            deadline,
            _WORK_PER_MS * max(time_limit_ms, 1),
        )

    def score_of(pos: Sequence[int]) -> Score:
        return evaluate(
            rack, [replace(d, position_u=pos[i]) for i, d in enumerate(devices)], links, weights
        )

    score = score_of(best)
    if incumbent is not None and current is not None and current.cost <= score.cost + 1e-12:
        best, score = incumbent, current  # never worse than the current layout
    if optimal:
        lb: float | None = score.cost
    else:
        lb = min(score.cost, max(0.0, _lower_bound(m, segments, locked_pos, movable)))
    return Result(
        positions={d.id: best[i] for i, d in enumerate(devices)},
        score=score,
        current=current,
        proof=Proof(optimal=optimal, lower_bound=lb),
        elapsed_ms=(time.perf_counter() - t0) * 1000,
        explanations=_explain(m, devices, best),
        method=method,
    )


def _heuristic(
    m: _Model,
    segments: list[tuple[int, int]],
    locked: dict[int, int],
    movable: list[int],
    incumbent: list[int] | None,
    seed: int,
    deadline: float,
    budget: int,
) -> list[int]:
    if not movable:
        return [locked.get(i, 0) for i in range(m.n)]
    # A seeded PRNG drives the search, it is not used for anything security related.
    rng = random.Random(seed)  # noqa: S311
    packing = None
    if len(segments) > 1:
        packing_local = _pack([m.h[i] for i in movable], [hi - lo + 1 for lo, hi in segments])
        if packing_local is not None:
            packing = [0] * m.n
            for k, i in enumerate(movable):
                packing[i] = packing_local[k]
    search = _Search(m, segments, locked, movable, rng, deadline, budget)
    starts: list[list[int]] = []
    if incumbent is not None:
        starts.append(list(incumbent))
    warm = _warm_start(m, segments, locked, movable)
    if warm is not None and warm != incumbent:
        starts.append(warm)
    for order in _orders(m, movable, rng):
        pos = _construct(m, segments, locked, order, packing)
        if pos is not None:
            starts.append(pos)
    best: list[int] | None = None
    best_cost = math.inf
    # quick descent from every start, then iterated local search from the best one
    for pos in starts:
        search.load(pos)
        search.descend()
        if search.cost < best_cost - _EPS:
            best, best_cost = list(search.pos), search.cost
        if search.out_of_effort():
            break
    if best is None:  # pragma: no cover - every start is a complete layout
        raise RuntimeError("no start layout")
    stale = 0
    max_stale = _STALE_ROUNDS + len(movable) // 2
    while not search.out_of_effort() and stale < max_stale:
        search.load(best)
        search.perturb(1 + stale % 3)
        search.descend()
        if search.cost < best_cost - 1e-10:
            best, best_cost = list(search.pos), search.cost
            stale = 0
        else:
            stale += 1
    return best
