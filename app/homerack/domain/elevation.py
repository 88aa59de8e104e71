"""SVG front elevation of a rack (pure, stdlib only).

Units are numbered bottom-up like NetBox (U1 at the bottom). The drawing keeps the
true proportions of the rack: one unit is 44.45 mm high and the front panel is
254 mm (10"), 482.6 mm (19") or 584.2 mm (23") wide. Every user string is escaped and
stripped of characters XML cannot carry; long labels are truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

from .choices import UNIT_MM
from .model import Device, Rack, span

PANEL_MM = {10: 254.0, 19: 482.6, 23: 584.2}
PX_PER_MM = 0.45  # 1U = 20 px
UNIT_PX = UNIT_MM * PX_PER_MM
LABEL_W = 34  # left column with the unit numbers
PAD = 10
TITLE_H = 28
CHAR_PX = 6.6  # average width of a 11 px sans-serif character

CATEGORY_COLOURS: dict[str, str] = {
    "router": "#4e79a7",
    "firewall": "#e15759",
    "switch": "#59a14f",
    "patch_panel": "#bab0ac",
    "server": "#f28e2b",
    "storage": "#b07aa1",
    "ups": "#edc948",
    "pdu": "#9c755f",
    "shelf": "#76b7b2",
    "kvm": "#ff9da7",
    "cable_management": "#8c8c8c",
    "blank": "#d9d9d9",
    "other": "#a0cbe8",
}

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _clean(value: object, limit: int | None = None) -> str:
    """A user string without XML-invalid characters, truncated to `limit` chars."""
    s = _INVALID_XML.sub("", "" if value is None else str(value))
    s = " ".join(s.split())
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "\u2026"
    return s


def _text(value: object, limit: int | None = None) -> str:
    """Escape a user string for XML text and attributes, truncating to `limit` chars."""
    return escape(_clean(value, limit), {'"': "&quot;", "'": "&apos;"})


def panel_width_px(width_in: int) -> float:
    mm = PANEL_MM.get(width_in, width_in * 25.4)
    return mm * PX_PER_MM


def render_svg(
    rack: Rack, devices: Iterable[Device], positions: Mapping[int, int] | None = None
) -> str:
    """Front view of the rack as an SVG document.

    ``positions`` (device id -> lowest unit) overrides ``position_u``, e.g. to show an
    optimizer proposal. Devices without a position, or not entirely inside the rack, are
    not drawn.
    """
    rack_name, width_in = rack.name, rack.width_in
    H = rack.u_height
    pw = panel_width_px(width_in)
    width = LABEL_W + pw + 2 * PAD
    height = TITLE_H + H * UNIT_PX + 2 * PAD
    top = TITLE_H + PAD
    x0 = LABEL_W + PAD

    def y_of(unit: int) -> float:  # top edge of unit `unit`
        return top + (H - unit) * UNIT_PX

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.1f}" height="{height:.1f}"'
        f' viewBox="0 0 {width:.1f} {height:.1f}" role="img"'
        f' aria-label="{_text(f"Rack {rack_name}, {H}U, {width_in} inch")}">',
        f"<title>{_text(rack_name, 200)}</title>",
        f'<rect class="frame" x="{x0 - 4:.1f}" y="{top - 4:.1f}" width="{pw + 8:.1f}"'
        f' height="{H * UNIT_PX + 8:.1f}" fill="#333" rx="3"/>',
        f'<text class="title" x="{width / 2:.1f}" y="{TITLE_H - 8}" text-anchor="middle"'
        f' font-family="sans-serif" font-size="14" font-weight="bold">'
        f"{_text(rack_name, int((width - 2 * PAD) / 8))}</text>",
    ]
    occupied = [False] * (H + 2)
    drawn: list[tuple[Device, int, int]] = []
    for d in devices:
        u = d.position_u
        if positions is not None and d.id is not None:
            u = positions.get(d.id, u)
        h = d.u_height
        if u is None or u < 1 or u + h - 1 > H:
            continue
        drawn.append((d, u, h))
        for v in range(u, u + h):
            occupied[v] = True
    # unit numbers and free slots
    for unit in range(1, H + 1):
        y = y_of(unit)
        out.append(
            f'<text class="unit" x="{LABEL_W + PAD - 8}" y="{y + UNIT_PX / 2 + 4:.1f}"'
            f' text-anchor="end" font-family="sans-serif" font-size="10"'
            f' fill="#555">{unit}</text>'
        )
        if not occupied[unit]:
            out.append(
                f'<rect class="free" x="{x0:.1f}" y="{y + 1:.1f}" width="{pw:.1f}"'
                f' height="{UNIT_PX - 2:.1f}" fill="#f4f4f4" stroke="#ccc"'
                ' stroke-dasharray="3 2"/>'
            )
    max_chars = max(int((pw - 12) / CHAR_PX), 4)
    for d, u, h in drawn:
        cat = d.category or "other"
        colour = CATEGORY_COLOURS.get(cat, CATEGORY_COLOURS["other"])
        y = y_of(u + h - 1)
        bh = h * UNIT_PX
        raw_name = _clean(d.name, max_chars)
        raw_model = _clean(d.model, max_chars)
        name, model = _text(raw_name), _text(raw_model)
        out.append(f'<g class="device" data-category="{_text(cat, 40)}">')
        tip = _text(d.name, 300)
        if raw_model:
            tip += f" ({_text(d.model, 300)})"
        out.append(f"<title>{tip} {span(u, h)}</title>")
        out.append(
            f'<rect class="device" x="{x0 + 1:.1f}" y="{y + 1:.1f}" width="{pw - 2:.1f}"'
            f' height="{bh - 2:.1f}" fill="{colour}" stroke="#222" rx="2"/>'
        )
        cx = x0 + pw / 2
        if h == 1:
            fits = raw_model and len(raw_name) + len(raw_model) + 3 <= max_chars
            text = f"{name} \u00b7 {model}" if fits else name
            out.append(
                f'<text x="{cx:.1f}" y="{y + bh / 2 + 4:.1f}" text-anchor="middle"'
                f' font-family="sans-serif" font-size="11">{text}</text>'
            )
        else:
            out.append(
                f'<text x="{cx:.1f}" y="{y + bh / 2 - 2:.1f}" text-anchor="middle"'
                f' font-family="sans-serif" font-size="11"'
                f' font-weight="bold">{name}</text>'
            )
            if model:
                out.append(
                    f'<text x="{cx:.1f}" y="{y + bh / 2 + 11:.1f}" text-anchor="middle"'
                    f' font-family="sans-serif" font-size="10">{model}</text>'
                )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
