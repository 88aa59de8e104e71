"""Tests of the cable bill of materials."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homerack.domain.bom import (
    CABLE_TYPES,
    CSV_COLUMNS,
    FORMULA_START,
    STOCK_LENGTHS_M,
    BomConnection,
    bom_csv,
    cable_bom,
    csv_cell,
    csv_filename,
    horizontal_allowance_mm,
)
from homerack.domain.model import Device, Rack


def dev(ident: int, name: str, u_height: int, position_u: int | None) -> Device:
    return Device(id=ident, name=name, u_height=u_height, position_u=position_u)


def rack(width_in: int = 19) -> Rack:
    return Rack(name="r", u_height=48, width_in=width_in)


DEVICES = [
    dev(1, "srv", 2, 1),
    dev(2, "ups", 2, 3),
    dev(3, "sw", 1, 10),
    dev(4, "new-nas", 2, None),
]


def test_hand_checked_rack():
    conns = [
        # sw (centre 10) - srv (centre 1.5): 8.5 U * 44.45 = 377.825 mm vertical,
        # + 2 * 300 mm (19" rack) = 977.825 mm, * 1.2 = 1173.39 mm -> 1.5 m cat6
        BomConnection(10, 3, 1, "cat6", count=2),
        # srv (1.5) - ups (3.5): 2 U = 88.9 mm + 600 = 688.9 mm, * 1.2 = 826.68 mm -> 1 m
        BomConnection(11, 1, 2, "power"),
        # sw - srv again over DAC: 1173.39 mm -> 1.5 m
        BomConnection(12, 1, 3, "dac"),
        BomConnection(13, 3, 99, "fiber_os2", b_name="isp-modem"),  # leaves the rack
        BomConnection(14, 3, 4, "cat6a"),  # unplaced end
    ]
    bom = cable_bom(rack(19), DEVICES, conns)
    by_id = {line.connection_id: line for line in bom.lines}
    assert set(by_id) == {10, 11, 12}
    assert by_id[10].length_mm == pytest.approx(1173.4, abs=0.05)
    assert by_id[10].stock_length_m == 1.5
    assert (by_id[10].a_name, by_id[10].b_name, by_id[10].count) == ("sw", "srv", 2)
    assert by_id[11].length_mm == pytest.approx(826.7, abs=0.05)
    assert by_id[11].stock_length_m == 1.0
    assert by_id[12].stock_length_m == 1.5
    assert not any(line.custom for line in bom.lines)
    totals = {(t.cable_type, t.stock_length_m): t.count for t in bom.totals}
    assert totals == {("cat6", 1.5): 2, ("power", 1.0): 1, ("dac", 1.5): 1}
    excluded = {e.connection_id: e for e in bom.excluded}
    assert set(excluded) == {13, 14}
    assert "leaves the rack" in excluded[13].reason and "isp-modem" in excluded[13].reason
    assert "unplaced" in excluded[14].reason and "new-nas" in excluded[14].reason
    json.dumps(bom.to_dict())  # plain data


def test_width_changes_the_allowance():
    # 10" rack, adjacent 1U devices: 44.45 + 2 * 150 = 344.45 mm, * 1.2 = 413.34 -> 0.5 m
    devs = [dev(1, "a", 1, 1), dev(2, "b", 1, 2)]
    bom = cable_bom(rack(10), devs, [BomConnection(1, 1, 2, "cat6")])
    assert bom.lines[0].length_mm == pytest.approx(413.3, abs=0.05)
    assert bom.lines[0].stock_length_m == 0.5
    assert horizontal_allowance_mm(19) == 300
    assert horizontal_allowance_mm(23) == 350
    assert horizontal_allowance_mm(21) == 350  # next larger standard width


def test_too_long_run_is_a_custom_length():
    # U1 - U48 in a 48U 19" rack: 47 * 44.45 = 2089.15 + 600 = 2689.15, * 1.2 = 3226.98 mm
    devs = [dev(1, "top", 1, 48), dev(2, "bottom", 1, 1)]
    bom = cable_bom(rack(), devs, [BomConnection(5, 1, 2, "usb", count=3)])
    line = bom.lines[0]
    assert line.custom and line.stock_length_m is None
    assert "custom length: 3.23 m" in line.note and "3 m" in line.note
    assert bom.totals[0].stock_length_m is None and bom.totals[0].count == 3
    assert bom.totals[0].total_length_m == pytest.approx(3 * 3.22698, abs=1e-3)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("@SUM(1)", "'@SUM(1)"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("core = uplink", "core = uplink"),  # only the first character matters
        ("'quoted", "'quoted"),
        ("", ""),
        (None, ""),
        (2, "2"),
        (1.5, "1.5"),
        (3.0, "3"),
        (1280.07, "1280.07"),
        (0.1 + 0.2, "0.3"),
    ],
)
def test_csv_cells_defuse_formulas(value, cell):
    assert csv_cell(value) == cell


@given(st.text())
def test_no_csv_cell_starts_a_formula(text):
    cell = csv_cell(text)
    assert not cell.startswith(FORMULA_START)
    assert cell in (text, "'" + text)


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("Main", "main-bom.csv"),
        ("Rack 2 / Café (garage)", "rack-2-cafe-garage-bom.csv"),
        ('=HYPERLINK("x")', "hyperlink-x-bom.csv"),
        ('"; filename=evil.exe', "filename-evil-exe-bom.csv"),
        ("机柜", "rack-bom.csv"),
        ("x" * 100, "x" * 60 + "-bom.csv"),
    ],
)
def test_csv_filename_is_a_safe_slug(name, filename):
    assert csv_filename(name) == filename


def test_csv_has_the_lines_subtotals_and_a_total():
    devs = [
        dev(1, "=cmd()", 1, 48),
        dev(2, "@bottom", 1, 1),
        dev(3, "mid", 1, 24),
    ]
    bom = cable_bom(
        rack(),
        devs,
        [
            BomConnection(5, 1, 2, "usb", count=3, label="+label"),  # too long: custom
            BomConnection(6, 3, 2, "cat6", count=2),
            BomConnection(7, 3, 1, "cat6"),
            BomConnection(8, 3, 99, "dac", b_name="elsewhere"),  # leaves the rack
        ],
    )
    text = bom_csv(bom)
    assert text.endswith("\r\n") and "\r\n" in text.rstrip("\r\n")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(header) == CSV_COLUMNS
    rows = [dict(zip(header, r, strict=True)) for r in rows]
    assert [r["row"] for r in rows] == ["cable"] * 3 + ["subtotal"] * 3 + ["total"]
    usb = rows[0]
    assert (usb["device_a"], usb["device_b"], usb["label"]) == ("'=cmd()", "'@bottom", "'+label")
    assert usb["stock_length_m"] == "" and "custom length" in usb["note"]
    assert float(usb["length_m"]) == pytest.approx(3 * bom.lines[0].length_mm / 1000)
    subtotals = {
        (r["cable_type"], r["stock_length_m"]): (r["count"], r["length_m"])
        for r in rows
        if r["row"] == "subtotal"
    }
    assert subtotals == {
        (t.cable_type, csv_cell(t.stock_length_m)): (str(t.count), csv_cell(t.total_length_m))
        for t in bom.totals
    }
    total = rows[-1]
    assert total["count"] == str(sum(t.count for t in bom.totals)) == "6"
    assert float(total["length_m"]) == pytest.approx(sum(t.total_length_m for t in bom.totals))
    assert "1 connection(s)" in total["note"]
    assert not any(cell.startswith(FORMULA_START) for r in rows for cell in r.values())


def test_csv_of_an_empty_bom_is_a_header_and_a_zero_total():
    rows = list(csv.reader(io.StringIO(bom_csv(cable_bom(rack(), [], [])), newline="")))
    assert rows == [list(CSV_COLUMNS), ["total", "", "", "", "", "", "0", "", "", "0", ""]]


def test_every_cable_type_has_stock_lengths():
    assert tuple(STOCK_LENGTHS_M) == CABLE_TYPES


def test_validation():
    with pytest.raises(ValueError, match="unknown cable type"):
        BomConnection(1, 1, 2, "hdmi")
    with pytest.raises(ValueError, match="count"):
        BomConnection(1, 1, 2, "cat6", count=0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 48), st.data())
def test_every_connection_is_listed_once_and_rounded_up(H, data):
    n = data.draw(st.integers(1, 8))
    devs = []
    for i in range(n):
        h = data.draw(st.integers(1, min(4, H)))
        pos = data.draw(st.one_of(st.none(), st.integers(1, H - h + 1)))
        devs.append(dev(i, f"d{i}", h, pos))
    conns = [
        BomConnection(
            k,
            data.draw(st.integers(0, n + 1)),
            data.draw(st.integers(0, n)),
            data.draw(st.sampled_from(CABLE_TYPES)),
            data.draw(st.integers(1, 3)),
        )
        for k in range(data.draw(st.integers(0, 10)))
    ]
    width = data.draw(st.sampled_from([10, 19, 23]))
    bom = cable_bom(rack(width), devs, conns)
    ids = [line.connection_id for line in bom.lines] + [e.connection_id for e in bom.excluded]
    assert sorted(ids) == [c.id for c in conns]
    for line in bom.lines:
        stock = STOCK_LENGTHS_M[line.cable_type]
        assert line.length_mm >= 2 * horizontal_allowance_mm(width) * 1.2 - 0.1
        if line.stock_length_m is None:
            assert line.length_mm > max(stock) * 1000
        else:
            assert line.stock_length_m * 1000 >= line.length_mm - 0.05
            shorter = [s for s in stock if s < line.stock_length_m]
            assert all(s * 1000 < line.length_mm + 0.05 for s in shorter)
    assert sum(t.count for t in bom.totals) == sum(line.count for line in bom.lines)
    json.dumps(bom.to_dict())
