"""A valid lower bound on the cost, from per-term relaxations."""

from __future__ import annotations

from .scoring import CostModel


def cost_lower_bound(
    m: CostModel, segments: list[tuple[int, int]], locked: dict[int, int], movable: list[int]
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
