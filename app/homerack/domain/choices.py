"""The fixed vocabularies and constants of the domain, each defined once.

Schemas (and so the OpenAPI document), storage, the API, the CLI and the pure domain
modules import them from here.
"""

from __future__ import annotations

CATEGORIES = (
    "router", "firewall", "switch", "patch_panel", "server", "storage", "ups", "pdu",
    "shelf", "kvm", "cable_management", "blank", "other",
)  # fmt: skip
AIRFLOWS = ("front_to_back", "back_to_front", "side", "passive")
# How often a device is handled, and how strongly the optimizer pulls it towards the
# ergonomic height (a device handled daily counts fully, one handled rarely not at all).
ACCESS_WEIGHTS: dict[str, float] = {"daily": 1.0, "weekly": 0.5, "monthly": 0.2, "rarely": 0.0}
ACCESS_FREQUENCIES = tuple(ACCESS_WEIGHTS)
CABLE_TYPES = ("cat6", "cat6a", "dac", "fiber_om4", "fiber_os2", "power", "usb", "other")
ROLES = ("viewer", "editor", "admin")  # lowest rank first
RACK_WIDTHS = (10, 19, 23)  # inch rack standards
UNIT_MM = 44.45  # height of one rack unit (EIA-310)
# The optimizer's objective terms and their default relative weights.
DEFAULT_WEIGHTS: dict[str, float] = {"cable": 0.4, "weight": 0.3, "thermal": 0.2, "access": 0.1}
OBJECTIVE_TERMS = tuple(DEFAULT_WEIGHTS)
