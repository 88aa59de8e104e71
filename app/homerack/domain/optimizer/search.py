"""Heuristic search: start layouts (current, warm start, greedy constructions), local
search with incremental cost evaluation, and iterated local search."""

from __future__ import annotations

import bisect
import math
import random
import time
from collections.abc import Sequence

from .exact import dp_transitions, exact_placement
from .feasibility import pack_into_segments
from .scoring import EPS, CostModel


class LocalSearch:
    def __init__(
        self,
        m: CostModel,
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
            best = -EPS
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
            if d < -EPS:
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
            best = -EPS
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
                self.work += int(dp_transitions(len(region), gaps) // 20) + 1
                sol = exact_placement(m, lo, hi, region, {}, self.pos)
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


def construct(
    m: CostModel,
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


def greedy_orders(m: CostModel, movable: list[int], rng: random.Random) -> list[list[int]]:
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


def is_valid_layout(m: CostModel, segments: list[tuple[int, int]], pos: Sequence[int]) -> bool:
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


def warm_start(
    m: CostModel, segments: list[tuple[int, int]], locked: dict[int, int], movable: list[int]
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
        at = m.devices[i].position_u
        if (
            at is not None
            and at >= 1
            and at + m.h[i] - 1 <= m.H
            and not any(occ[v] for v in range(at, at + m.h[i]))
        ):
            pos[i] = at
            for v in range(at, at + m.h[i]):
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


def local_search(
    m: CostModel,
    segments: list[tuple[int, int]],
    locked: dict[int, int],
    movable: list[int],
    incumbent: list[int] | None,
    seed: int,
    deadline: float,
    budget: int,
    stale_rounds: int,
) -> list[int]:
    """The best layout found by descents from several starts, then iterated local search
    (perturb the best layout, descend again) until ``budget`` move evaluations or
    ``stale_rounds`` (+ n/2) rounds without improvement."""
    if not movable:
        return [locked.get(i, 0) for i in range(m.n)]
    # A seeded PRNG drives the search, it is not used for anything security related.
    rng = random.Random(seed)  # noqa: S311
    packing = None
    if len(segments) > 1:
        packing_local = pack_into_segments(
            [m.h[i] for i in movable], [hi - lo + 1 for lo, hi in segments]
        )
        if packing_local is not None:
            packing = [0] * m.n
            for k, i in enumerate(movable):
                packing[i] = packing_local[k]
    search = LocalSearch(m, segments, locked, movable, rng, deadline, budget)
    starts: list[list[int]] = []
    if incumbent is not None:
        starts.append(list(incumbent))
    warm = warm_start(m, segments, locked, movable)
    if warm is not None and warm != incumbent:
        starts.append(warm)
    for order in greedy_orders(m, movable, rng):
        pos = construct(m, segments, locked, order, packing)
        if pos is not None:
            starts.append(pos)
    best: list[int] | None = None
    best_cost = math.inf
    # quick descent from every start, then iterated local search from the best one
    for pos in starts:
        search.load(pos)
        search.descend()
        if search.cost < best_cost - EPS:
            best, best_cost = list(search.pos), search.cost
        if search.out_of_effort():
            break
    if best is None:  # pragma: no cover - every start is a complete layout
        raise RuntimeError("no start layout")
    stale = 0
    max_stale = stale_rounds + len(movable) // 2
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
