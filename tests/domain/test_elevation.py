"""Tests of the SVG rack elevation."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homerack.domain.choices import CATEGORIES
from homerack.domain.elevation import CATEGORY_COLOURS, panel_width_px, render_svg
from homerack.domain.model import Device, Rack

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><script>alert("x")</script>',
    'Tom & Jerry\'s "rack"',
    "x" * 5000,
    "]]><!-- -->&amp;&#x3c;",
    "ctrl\x00\x01\x1b chars\ud800",
]


def parse(svg: str):
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it


def device_rects(root):
    return [r for r in root.iter(f"{NS}rect") if r.get("class") == "device"]


def unit_labels(root):
    return [t for t in root.iter(f"{NS}text") if t.get("class") == "unit"]


def rack(name: str, u_height: int, width_in: int = 19) -> Rack:
    return Rack(name=name, u_height=u_height, width_in=width_in)


def test_every_category_has_a_colour():
    assert set(CATEGORY_COLOURS) == set(CATEGORIES)


def test_basic_rack():
    devices = [
        Device(
            id=1,
            name="core-switch",
            model="USW-24",
            u_height=1,
            position_u=10,
            category="switch",
        ),
        Device(id=2, name="nas", model="DS920+", u_height=2, position_u=1, category="storage"),
        Device(id=3, name="unplaced", u_height=1, position_u=None),
    ]
    svg = render_svg(rack("lab", 12), devices)
    root = parse(svg)
    assert len(device_rects(root)) == 2
    labels = unit_labels(root)
    assert len(labels) == 12
    # U1 is drawn at the bottom: its label has the largest y
    y = {t.text: float(t.get("y")) for t in labels}
    assert y["1"] > y["12"]
    # 12 units, 3 used -> 9 free slots drawn
    assert len([r for r in root.iter(f"{NS}rect") if r.get("class") == "free"]) == 9
    fills = {r.get("fill") for r in device_rects(root)}
    assert fills == {CATEGORY_COLOURS["switch"], CATEGORY_COLOURS["storage"]}
    assert "USW-24" in svg


def test_positions_override_and_out_of_rack_devices_are_skipped():
    devices = [
        Device(id=1, name="a", u_height=1, position_u=1),
        Device(id=2, name="b", u_height=2, position_u=None),
        Device(id=3, name="c", u_height=2, position_u=4),
    ]
    root = parse(render_svg(rack("r", 4), devices, positions={2: 2, 3: 4}))
    assert len(device_rects(root)) == 2  # c at U4-5 does not fit a 4U rack


def test_width_is_proportional():
    widths = {w: float(parse(render_svg(rack("r", 4, w), [])).get("width")) for w in (10, 19, 23)}
    assert widths[10] < widths[19] < widths[23]
    assert panel_width_px(19) / panel_width_px(10) == pytest.approx(482.6 / 254.0)
    assert panel_width_px(23) / panel_width_px(19) == pytest.approx(584.2 / 482.6)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300)), min_size=3, max_size=3),
    st.sampled_from([10, 19, 23]),
    st.integers(1, 48),
)
def test_hostile_strings_stay_text(strings, width, H):
    rack_name, name, model = strings
    devices = [
        Device(
            id=i,
            name=name,
            model=model,
            u_height=1 + i % 2,
            position_u=1 + 3 * i,
            category=name,
        )
        for i in range(H // 3)
    ]
    svg = render_svg(rack(rack_name, H, width), devices)
    root = parse(svg)  # well-formed whatever the input
    assert root.tag == f"{NS}svg"
    assert not any(el.tag.lower().endswith("script") for el in root.iter())
    assert "<script" not in svg
    expected = sum(1 for d in devices if d.top_u <= H)
    assert len(device_rects(root)) == expected
    # labels are truncated: no text element carries the 5000-char name
    assert all(len(t.text or "") < 400 for t in root.iter(f"{NS}text"))


def test_hostile_names_example():
    evil = "<script>alert(\"x\")</script> & 'quotes'"
    svg = render_svg(
        rack(evil, 6),
        [Device(id=1, name=evil, model=evil, u_height=1, position_u=2, category="<b>")],
    )
    root = parse(svg)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    texts = "".join(t.text or "" for t in root.iter(f"{NS}text"))
    assert "<script>" in texts  # shown to the user as text, not markup
    # unknown category falls back to the "other" colour
    assert device_rects(root)[0].get("fill") == CATEGORY_COLOURS["other"]
