"""One sentence per moved or added device saying what pulled it where it is."""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Device, span
from .scoring import CostModel


def explain(m: CostModel, devices: Sequence[Device], new: Sequence[int]) -> dict[int, str]:
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
        where = span(u, m.h[i])
        head = f"added at {where}" if old is None else f"moved from {span(old, m.h[i])} to {where}"
        pulls = {
            "weight": m.kw * m.w[i],
            "thermal": m.kt * m.p[i] * n / m.H,
            "access": m.ka * m.a[i],
            "cable": m.kc * sum(c for _, c in m.adj[i]),
        }
        reason = max(pulls, key=lambda k: pulls[k])
        if pulls[reason] <= 0:
            out[d.stored_id] = head
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
        out[d.stored_id] = f"{head}: {text}"
    return out
