"""Whether any layout can satisfy the request, and the free runs of units between locked
devices (with an exact packing of the devices into them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .. import rules
from ..model import Device, Rack


def feasibility_problems(rack: Rack, devices: Sequence[Device]) -> list[str]:
    """Why no layout of ``devices`` in ``rack`` can exist (empty list: one can).

    The placement rules themselves (heights, widths, locked devices inside the rack and
    apart, budgets) are asked of ``rules``, so they read the same as everywhere else.
    """
    H = rack.u_height
    reasons: list[str] = []
    seen: set[int | None] = set()
    for d in devices:
        if d.id in seen:
            reasons.append(f"device id {d.id} is listed twice")
        seen.add(d.id)
    for d in devices:
        reasons += [p.reason for p in rules.height_problems(rack, d)]
        reasons += [p.reason for p in rules.fit_problems(rack, d) if p.kind == "width"]
    locked_ok: list[Device] = []
    for d in devices:
        if not d.locked:
            continue
        if d.position_u is None:
            reasons.append(f"locked device '{d.name}' has no position")
            continue
        outside = rules.outside_problem(rack, d)
        if outside is not None:
            reasons.append(outside.reason)
        else:
            locked_ok.append(d)
    reasons += [p.reason for p in rules.overlap_problems(locked_ok)]
    reasons += [p.reason for p in rules.budget_problems(rack, devices)]
    used: set[int] = set()
    for d in locked_ok:
        if d.position_u is not None:  # always, for locked_ok; says so to the type checker
            used.update(range(d.position_u, d.top_u + 1))
    need = sum(d.u_height for d in devices if not d.locked)
    free = H - len(used)
    if need > free:
        reasons.append(f"not enough free units: need {need}U, {free}U free")
    elif not reasons:
        segments = free_segments(H, locked_ok)
        heights = [d.u_height for d in devices if not d.locked]
        if pack_into_segments(heights, [hi - lo + 1 for lo, hi in segments]) is None:
            gaps = ", ".join(f"{hi - lo + 1}U" for lo, hi in segments) or "none"
            big = ", ".join(f"{h}U" for h in sorted(heights, reverse=True) if h > 1)
            reasons.append(
                "the devices do not fit into the free gaps between locked devices"
                f" (free gaps: {gaps}; devices taller than 1U: {big})"
            )
    return reasons


def free_segments(H: int, locked: Iterable[Device]) -> list[tuple[int, int]]:
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


def pack_into_segments(heights: Sequence[int], caps: Sequence[int]) -> list[int] | None:
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
