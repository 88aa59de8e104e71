"""The optimizer panel: a proposal beside the current layout with scores, moves and
reasons; Apply saves exactly the proposal; a refused apply (the rack changed meanwhile)
says so and offers to run again."""

from __future__ import annotations

from e2e.helpers import screenshot
from e2e.rackdata import (
    SERVER,
    SWITCH,
    UPS,
    cable,
    label_unit,
    make_rack,
    place,
    positions,
    wait_drawn_at,
)


def untidy_rack(client):
    """A rack the optimizer improves: servers far from their switch, the UPS up high."""
    rack = make_rack(client, "opt", ergonomic_u=6)
    switch = place(client, rack, SWITCH, 12, "sw")
    s1 = place(client, rack, SERVER, 1, "srv")
    s2 = place(client, rack, SERVER, 2, "srv")
    ups = place(client, rack, UPS, 9, "ups")
    cable(client, switch, s1, 4)
    cable(client, switch, s2, 4)
    return rack, [switch, s1, s2, ups]


def propose(page):
    page.get_by_role("button", name="Optimize").click()
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name="Optimize").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/optimize")) as answer:
        panel.get_by_role("button", name="Propose a layout").click()
    proposal = answer.value.json()
    panel.get_by_role("figure", name="Proposed").wait_for()
    return panel, proposal


def test_propose_review_and_apply_a_layout(signed_in, server, artifacts):
    page, client = signed_in, server[1]
    rack, devices = untidy_rack(client)
    before = positions(client, rack)
    page.goto(f"/#/racks/{rack['id']}")
    panel, proposal = propose(page)

    moves = [p for p in proposal["placements"] if p["moved"]]
    assert moves, "the arranged rack should give the optimizer something to improve"
    assert proposal["applied"] is False
    assert positions(client, rack) == before  # a proposal changes nothing
    # Before and after, side by side, with each device drawn at its place in each.
    current = panel.get_by_role("figure", name="Current")
    proposed = panel.get_by_role("figure", name="Proposed")

    def drawn_at(figure, device_id):
        return int(figure.locator(f'[data-device-id="{device_id}"]').get_attribute("data-pos"))

    for p in proposal["placements"]:
        assert drawn_at(current, p["device_id"]) == p["previous_u"]
        assert drawn_at(proposed, p["device_id"]) == p["position_u"]
    assert proposed.locator(".device.moved").count() == len(moves)
    cur_box, new_box = current.bounding_box(), proposed.bounding_box()
    assert new_box["x"] >= cur_box["x"] + cur_box["width"] - 1  # beside, not below
    # Scores (current and proposed, and the four terms) and the reasons of each move.
    text = panel.inner_text()
    score = proposal["score"]
    proposed_score, current_score = (score[k]["score"] * 100 for k in ("proposed", "current"))
    assert f"Score {proposed_score:.1f} (now {current_score:.1f}" in text
    for term in ("Cable length", "Weight", "Heat", "Access"):
        assert term in text
    assert f"{score['proposed']['terms']['cable']:.3f}" in text
    items = panel.locator(".opt-moves li")
    assert items.count() == len(moves)
    for e in proposal["explanations"]:
        reason = e["text"].split(": ", 1)[-1]
        assert items.filter(has_text=e["name"]).filter(has_text=reason).count() == 1
    screenshot(page, artifacts, "optimize-proposal", phone=True)
    page.emulate_media(color_scheme="dark")
    screenshot(page, artifacts, "optimize-proposal-dark")
    page.emulate_media(color_scheme="light")

    with page.expect_response(lambda r: r.url.endswith("/optimize")) as answer:
        panel.get_by_role("button", name="Apply this layout").click()
    assert answer.value.request.post_data_json["layout_version"] == proposal["layout_version"]
    assert answer.value.request.post_data_json["apply"] is True
    panel.get_by_text("Layout applied").wait_for()
    wanted = {p["device_id"]: p["position_u"] for p in proposal["placements"]}
    assert positions(client, rack) == wanted
    # The elevation shows the new layout.
    wait_drawn_at(page, moves[0]["device_id"], moves[0]["position_u"])
    for d in devices:
        assert label_unit(page, d) == wanted[d["id"]]


def test_a_refused_apply_says_the_rack_changed_and_offers_to_rerun(signed_in, server):
    page, client = signed_in, server[1]
    page.expected_errors.append("409")
    rack, (_switch, s1, _s2, _ups) = untidy_rack(client)
    page.goto(f"/#/racks/{rack['id']}")
    panel, proposal = propose(page)
    # Someone changes the rack between the proposal and the apply.
    client.patch(f"/api/devices/{s1['id']}", {"position_u": 5})
    changed = positions(client, rack)
    panel.get_by_role("button", name="Apply this layout").click()
    alert = panel.get_by_role("alert")
    alert.wait_for()
    assert "the rack changed" in alert.inner_text()
    assert "optimized" in alert.inner_text()  # the API's own description follows
    assert positions(client, rack) == changed  # nothing applied
    # The view shows the rack as it is now, and a new run is one click away.
    wait_drawn_at(page, s1["id"], 5)
    with page.expect_response(lambda r: r.url.endswith("/optimize")) as answer:
        alert.get_by_role("button", name="Re-run the optimizer").click()
    assert answer.value.ok
    panel.get_by_role("figure", name="Proposed").wait_for()
    assert answer.value.json()["layout_version"] != proposal["layout_version"]
