"""Benchmark of homerack.domain.optimizer against a long OR-Tools CP-SAT run.

Prints figures only; it is never a test gate. OR-Tools is imported here only (it is not
a runtime dependency of the optimizer).

    PYTHONPATH=app python bench/optimizer.py                     # 60 s of CP-SAT per instance
    PYTHONPATH=app python bench/optimizer.py --solver-seconds 0  # optimizer only
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from homerack.domain.optimizer import (
    Device,
    Link,
    Rack,
    Settings,
    Weights,
    evaluate,
    optimize,
)

# (category, heights, weight range kg, power range W, access choices, relative frequency)
TEMPLATES = [
    ("switch", (1, 1, 1, 2), (3, 7), (30, 120), ("weekly", "monthly"), 5),
    ("patch_panel", (1,), (0.5, 1.5), (0, 0), ("weekly", "monthly"), 3),
    ("router", (1,), (2, 4), (15, 40), ("weekly", "monthly"), 1),
    ("firewall", (1,), (3, 6), (20, 60), ("monthly",), 1),
    ("server", (1, 2, 2, 4), (10, 30), (120, 450), ("monthly", "rarely", "weekly"), 5),
    ("storage", (2, 3, 4), (18, 35), (100, 300), ("monthly", "rarely"), 2),
    ("ups", (2, 3), (25, 45), (30, 80), ("monthly", "rarely"), 1),
    ("pdu", (1,), (1, 3), (5, 10), ("rarely",), 1),
    ("shelf", (1, 2), (2, 8), (10, 60), ("weekly", "daily"), 2),
    ("kvm", (1,), (2, 4), (10, 20), ("daily",), 1),
    ("cable_management", (1,), (0.3, 1), (0, 0), ("rarely",), 1),
]

FAMILIES = [  # (label, rack units, devices, cables)
    ("12U/8", 12, 8, 10),
    ("24U/15", 24, 15, 20),
    ("42U/25", 42, 25, 30),
    ("48U/40", 48, 40, 60),
]


def instance(H: int, n: int, cables: int, seed: int):
    rng = random.Random(seed * 7919 + H * 31 + n)
    weights = [t[5] for t in TEMPLATES]
    devices: list[Device] = []
    for i in range(n):
        cat, hs, (w0, w1), (p0, p1), acc, _ = rng.choices(TEMPLATES, weights)[0]
        devices.append(
            Device(
                id=i + 1,
                name=f"{cat}-{i + 1}",
                u_height=rng.choice(hs),
                weight_kg=round(rng.uniform(w0, w1), 1),
                power_w=round(rng.uniform(p0, p1)),
                access=rng.choice(acc),
                position_u=None,
                category=cat,
            )
        )
    # keep the rack at most ~85 % full: shrink the tallest devices first
    while sum(d.u_height for d in devices) > int(H * 0.85):
        k = max(range(n), key=lambda i: devices[i].u_height)
        devices[k] = replace(devices[k], u_height=devices[k].u_height - 1)
    hubs = [d.id for d in devices if d.category in ("switch", "patch_panel", "router")]
    hubs = hubs or [devices[0].id]
    counts: dict[tuple[int, int], int] = {}
    for _ in range(cables):
        a = rng.choice(hubs) if rng.random() < 0.8 else rng.choice(devices).id
        b = rng.choice(devices).id
        if a == b:
            b = devices[(b % n)].id
        key = (min(a, b), max(a, b))
        counts[key] = counts.get(key, 0) + 1
    links = [Link(a, b, c) for (a, b), c in sorted(counts.items())]
    # a current layout: devices stacked bottom-up in id order
    u = 1
    current = []
    for d in devices:
        current.append(replace(d, position_u=u))
        u += d.u_height
    return Rack(u_height=H), current, links


def cpsat(
    rack: Rack,
    devices: list[Device],
    links: list[Link],
    weights: Weights,
    seconds: float,
    workers: int,
):
    """Exact CP-SAT model: returns (best cost by evaluate(), lower bound, status)."""
    from ortools.sat.python import cp_model

    H = rack.u_height
    n = len(devices)
    scale = 10**9
    E2 = round(2 * rack.ergonomic)  # doubled ergonomic unit (E is a multiple of 0.5)
    idx = {d.id: i for i, d in enumerate(devices)}
    model = cp_model.CpModel()
    u = [model.new_int_var(1, H - d.u_height + 1, f"u{i}") for i, d in enumerate(devices)]
    for i, d in enumerate(devices):
        if d.locked and d.position_u is not None:
            model.add(u[i] == d.position_u)
    iv = [
        model.new_fixed_size_interval_var(u[i], d.u_height, f"iv{i}") for i, d in enumerate(devices)
    ]
    model.add_no_overlap(iv)
    c2 = [2 * u[i] + d.u_height - 1 for i, d in enumerate(devices)]  # doubled centres
    tot = weights.total
    terms: list = []
    const = 0.0

    def add(coef: float, var) -> None:
        terms.append((math.floor(coef * scale), var))  # floor keeps the bound valid

    # cable: sum n |c_i - c_j| / (sum n (H-1)), |c2_i - c2_j| = 2 |c_i - c_j|
    in_rack = [lk for lk in links if lk.a in idx and lk.b in idx]
    ncount = sum(lk.count for lk in in_rack)
    if ncount and H > 1 and weights.cable:
        k = weights.cable / tot / (ncount * (H - 1)) / 2
        for lk in in_rack:
            i, j = idx[lk.a], idx[lk.b]
            if i == j:
                continue
            dv = model.new_int_var(0, 2 * H, f"d{i}_{j}")
            model.add_abs_equality(dv, c2[i] - c2[j])
            add(k * lk.count, dv)
    wsum = sum(d.weight_kg for d in devices)
    if wsum and H > 1 and weights.weight:
        k = weights.weight / tot / (wsum * (H - 1)) / 2
        for i, d in enumerate(devices):
            add(2 * k * d.weight_kg, u[i])  # w (c - 1) = w (2u + h - 3) / 2
            const += k * d.weight_kg * (d.u_height - 3)
    psum = sum(d.power_w for d in devices)
    if psum and n > 1 and weights.thermal:
        k = weights.thermal / tot / (psum * (n - 1))
        for i in range(n):
            for j in range(i + 1, n):
                b = model.new_bool_var(f"b{i}_{j}")  # i below j
                model.add(u[i] + devices[i].u_height <= u[j]).only_enforce_if(b)
                model.add(u[j] + devices[j].u_height <= u[i]).only_enforce_if(~b)
                # below one contributes its power: p_i b + p_j (1 - b)
                const += k * devices[j].power_w
                coef = k * (devices[i].power_w - devices[j].power_w)
                terms.append((math.floor(coef * scale), b))
    asum = sum(d.access_weight for d in devices)
    span = max(rack.ergonomic - 1, H - rack.ergonomic)
    if asum and span > 0 and weights.access:
        k = weights.access / tot / (asum * span) / 2
        for i, d in enumerate(devices):
            if d.access_weight:
                av = model.new_int_var(0, 4 * H, f"a{i}")
                model.add_abs_equality(av, c2[i] - E2)
                add(k * d.access_weight, av)
    model.minimize(sum(c * v for c, v in terms))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, None, solver.status_name(status)
    sol = [replace(d, position_u=solver.value(u[i])) for i, d in enumerate(devices)]
    best = evaluate(rack, sol, links, weights).cost
    model_cost = solver.objective_value / scale + const
    # the model must agree with evaluate() up to the flooring of the coefficients
    tol = 1e-9 + sum(4 * H for _ in terms) / scale
    if abs(model_cost - best) > tol:
        raise AssertionError(f"CP-SAT objective {model_cost} != evaluate() {best}")
    lb = solver.best_objective_bound / scale + math.floor(const * scale) / scale
    if status == cp_model.OPTIMAL:
        lb = max(lb, best - 1e-6)  # proven: the bound is the optimum (up to scaling)
    return best, lb, solver.status_name(status)


def long_run(rack, devices, links, weights, seconds: float, seeds: int):
    """(best cost, best lower bound) of a few long runs of the optimizer itself.

    More ILS rounds and other seeds; with a long limit the exact DP may also run.
    """
    patient = Settings(stale_rounds=200)
    runs = [
        optimize(
            rack,
            devices,
            links,
            weights,
            time_limit_ms=int(seconds * 1000),
            seed=100 + s,
            settings=patient,
        )
        for s in range(seeds)
    ]
    return (min(r.score.cost for r in runs), max(r.proof.lower_bound or 0.0 for r in runs))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--solver-seconds",
        type=float,
        default=60.0,
        help="CP-SAT time per instance (0 = skip the solver)",
    )
    ap.add_argument("--workers", type=int, default=2, help="CP-SAT worker threads")
    ap.add_argument("--seeds", type=int, default=3, help="instances per family")
    ap.add_argument("--time-limit-ms", type=int, default=1000, help="optimizer time limit")
    ap.add_argument("--repeat", type=int, default=3, help="optimizer runs to time (median)")
    ap.add_argument(
        "--long-seconds",
        type=float,
        default=20.0,
        help="time limit of the long reference runs of the optimizer (0 = skip)",
    )
    ap.add_argument("--long-seeds", type=int, default=3, help="long reference runs")
    ap.add_argument("--families", default="", help="comma separated labels, e.g. 42U/25")
    args = ap.parse_args()
    weights = Weights()
    fams = [f for f in FAMILIES if not args.families or f[0] in args.families.split(",")]
    print(
        f"optimizer time limit {args.time_limit_ms} ms, CP-SAT {args.solver_seconds:g} s"
        f" x {args.workers} workers, long runs {args.long_seeds} x {args.long_seconds:g} s"
    )
    head = (
        f"{'family':8} {'seed':>4} {'ms':>7} {'method':12} {'cost':>8} {'lb':>8} "
        f"{'long':>8} {'cpsat':>8} {'cp-lb':>8} {'status':9} {'gap-best':>8} {'gap-lb':>7}"
    )
    print(head)
    print("-" * len(head))
    for label, H, n, cables in fams:
        for seed in range(args.seeds):
            rack, devices, links = instance(H, n, cables, seed)
            times = []
            for _ in range(args.repeat):
                res = optimize(
                    rack, devices, links, weights, time_limit_ms=args.time_limit_ms, seed=seed
                )
                times.append(res.elapsed_ms)
            cost = res.score.cost
            long_best = long_lb = None
            if args.long_seconds > 0 and res.method != "exact-dp":
                long_best, long_lb = long_run(
                    rack, devices, links, weights, args.long_seconds, args.long_seeds
                )
            cp_best = cp_lb = None
            status = "-"
            if args.solver_seconds > 0:
                t = time.perf_counter()
                cp_best, cp_lb, status = cpsat(
                    rack, devices, links, weights, args.solver_seconds, args.workers
                )
                status = f"{status[:4]}{time.perf_counter() - t:4.0f}s"
            best = min(x for x in (cost, long_best, cp_best) if x is not None)
            lb = max(x for x in (res.proof.lower_bound, long_lb, cp_lb) if x is not None)
            gap_best = (cost - best) / best * 100 if best > 0 else 0.0
            gap_lb = (cost - lb) / cost * 100 if cost > 0 else 0.0

            def f(x):
                return "-" if x is None else f"{x:8.5f}"

            print(
                f"{label:8} {seed:>4} {statistics.median(times):7.1f} {res.method:12} "
                f"{cost:8.5f} {f(res.proof.lower_bound):>8} {f(long_best):>8} "
                f"{f(cp_best):>8} {f(cp_lb):>8} {status:9} "
                f"{gap_best:7.2f}% {gap_lb:6.1f}%",
                flush=True,
            )


if __name__ == "__main__":
    main()
