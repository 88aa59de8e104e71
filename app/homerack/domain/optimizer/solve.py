"""``optimize``: feasibility, then the exact DP or the heuristic, then the proof and the
explanations."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..model import Device, Rack
from .bounds import cost_lower_bound
from .exact import dp_transitions, exact_placement
from .explain import explain
from .feasibility import feasibility_problems, free_segments
from .scoring import (
    DEFAULT_SETTINGS,
    CostModel,
    Infeasible,
    Link,
    Proof,
    Result,
    Score,
    Settings,
    Weights,
    evaluate,
)
from .search import is_valid_layout, local_search


def optimize(
    rack: Rack,
    devices: Sequence[Device],
    links: Iterable[Link],
    weights: Weights | None = None,
    time_limit_ms: int = 1000,
    seed: int = 0,
    settings: Settings = DEFAULT_SETTINGS,
) -> Result:
    """Propose positions for every device in `devices` (placed or to be added)."""
    t0 = time.perf_counter()
    weights = weights if weights is not None else Weights()
    devices = list(devices)
    links = list(links)
    reasons = feasibility_problems(rack, devices)
    if reasons:
        raise Infeasible(reasons)
    deadline = t0 + max(time_limit_ms, 1) / 1000
    placed = [d for d in devices if d.position_u is not None]
    current = evaluate(rack, placed, links, weights) if placed else None

    m = CostModel(rack, devices, links, weights)
    locked_pos = {
        i: int(d.position_u) for i, d in enumerate(devices) if d.locked and d.position_u is not None
    }
    movable = [i for i, d in enumerate(devices) if not d.locked]
    segments = free_segments(rack.u_height, [d for d in devices if d.locked])
    incumbent: list[int] | None = None
    if len(placed) == len(devices):
        cur = [int(d.position_u) for d in devices if d.position_u is not None]
        if is_valid_layout(m, segments, cur):
            incumbent = cur

    best: list[int] | None = None
    optimal = False
    method = "local-search"
    gaps = sum(hi - lo + 1 for lo, hi in segments) - sum(m.h[i] for i in movable)
    if dp_transitions(len(movable), gaps) <= settings.dp_transitions_per_ms * max(time_limit_ms, 1):
        base = [0] * m.n
        for i, u in locked_pos.items():
            base[i] = u
        # the DP gets half of the time; if it overruns, the heuristic still has the rest
        dp_deadline = t0 + max(time_limit_ms, 1) / 2000
        sol = exact_placement(m, 1, m.H, list(range(m.n)), locked_pos, base, dp_deadline)
        if sol is not None:
            best = [sol[i] for i in range(m.n)]
            optimal = True
            method = "exact-dp"
    if best is None:
        best = local_search(
            m,
            segments,
            locked_pos,
            movable,
            incumbent,
            seed,
            deadline,
            settings.work_per_ms * max(time_limit_ms, 1),
            settings.stale_rounds,
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
        lb = min(score.cost, max(0.0, cost_lower_bound(m, segments, locked_pos, movable)))
    return Result(
        positions={d.stored_id: best[i] for i, d in enumerate(devices)},
        score=score,
        current=current,
        proof=Proof(optimal=optimal, lower_bound=lb),
        elapsed_ms=(time.perf_counter() - t0) * 1000,
        explanations=explain(m, devices, best),
        method=method,
    )
