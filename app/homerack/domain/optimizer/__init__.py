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

Modules: ``scoring`` (inputs, results, settings, the cost), ``feasibility``, ``exact``
(the subset DP), ``search`` (constructions and local search), ``bounds`` (the lower
bound), ``explain`` and ``solve`` (``optimize``, which ties them together). The tuning
knobs are a ``Settings`` passed to ``optimize``.
"""

from ..choices import ACCESS_WEIGHTS
from ..model import Device, Rack
from .scoring import (
    DEFAULT_SETTINGS,
    Infeasible,
    Link,
    Proof,
    Result,
    Score,
    Settings,
    Weights,
    evaluate,
)
from .solve import optimize

__all__ = [
    "ACCESS_WEIGHTS",
    "DEFAULT_SETTINGS",
    "Device",
    "Infeasible",
    "Link",
    "Proof",
    "Rack",
    "Result",
    "Score",
    "Settings",
    "Weights",
    "evaluate",
    "optimize",
]
