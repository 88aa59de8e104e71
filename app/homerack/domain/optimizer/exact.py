"""The exact subset dynamic programme: the whole rack when small, windows otherwise."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .scoring import EPS, CostModel


def exact_placement(
    m: CostModel,
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
                    if old is None or nv < old - EPS:
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
                if old is None or nv < old - EPS:
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


def dp_transitions(k: int, gaps: int) -> float:
    """Rough number of DP transitions for k free devices and `gaps` empty units."""
    return (2**k) * (gaps + 1) * (k / 2 + 1)
