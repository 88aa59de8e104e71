"""The pure layout rules, without any database or HTTP."""

from homerack.domain.model import Device, Rack
from homerack.domain.rules import layout_problems, utilization

RACK = Rack(name="main", u_height=10, width_in=19, depth_mm=600, max_weight_kg=50, max_power_w=500)


def dev(name, pos, height=1, **kw):
    return Device(id=None, name=name, position_u=pos, u_height=height, **kw)


def kinds(problems):
    return [p.kind for p in problems]


def test_valid_layout_has_no_problems():
    assert layout_problems(RACK, [dev("a", 1, 2), dev("b", 3), dev("c", 10)]) == []


def test_device_above_the_top_is_outside():
    assert layout_problems(RACK, [dev("fits", 9, 2)]) == []
    problems = layout_problems(RACK, [dev("big", 10, 2)])
    assert kinds(problems) == ["outside"]
    assert "would end at U11" in problems[0].reason and "(10U)" in problems[0].reason


def test_position_below_one_is_outside():
    assert kinds(layout_problems(RACK, [dev("low", 0)])) == ["outside"]


def test_overlap_names_both_devices_and_units():
    problems = layout_problems(RACK, [dev("a", 2, 3), dev("b", 4)])
    assert kinds(problems) == ["overlap"]
    assert "devices 'a' (U2-U4) and 'b' (U4) overlap" in problems[0].reason


def test_adjacent_devices_do_not_overlap():
    assert layout_problems(RACK, [dev("a", 2, 2), dev("b", 4, 2)]) == []


def test_width_mismatch_is_reported():
    problems = layout_problems(RACK, [dev("tiny", 1, width_in=10)])
    assert kinds(problems) == ["width"]
    assert "10-inch" in problems[0].reason and "19-inch" in problems[0].reason


def test_too_deep_device_is_reported():
    assert kinds(layout_problems(RACK, [dev("deep", 1, depth_mm=716)])) == ["depth"]


def test_unknown_depth_is_not_a_problem():
    rack = Rack(name="r", u_height=4)
    assert layout_problems(rack, [dev("deep", 1, depth_mm=2000)]) == []


def test_budgets_report_totals():
    problems = layout_problems(
        RACK, [dev("a", 1, weight_kg=30, power_w=300), dev("b", 2, weight_kg=25.5, power_w=250)]
    )
    assert kinds(problems) == ["weight", "power"]
    assert "55.5 kg" in problems[0].reason and "50 kg" in problems[0].reason
    assert "550 W" in problems[1].reason and "500 W" in problems[1].reason


def test_budget_exactly_reached_is_fine():
    assert layout_problems(RACK, [dev("a", 1, weight_kg=50, power_w=500)]) == []


def test_utilization_counts_units_weight_power():
    u = utilization(RACK, [dev("a", 1, 2, weight_kg=10, power_w=100), dev("b", 5)])
    assert u["used_u"] == 3 and u["free_u"] == 7
    assert u["weight_kg"] == 10 and u["weight_pct"] == 20.0
    assert u["power_w"] == 100 and u["power_pct"] == 20.0


def test_utilization_without_budgets_has_no_percentages():
    u = utilization(Rack(name="r", u_height=4), [dev("a", 1)])
    assert u["weight_pct"] is None and u["power_pct"] is None and u["used_pct"] == 25.0
