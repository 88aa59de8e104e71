"""The racks list: utilization, create, edit, delete (and the API's refusal), opening
several racks side by side, and what a viewer may not do."""

from __future__ import annotations

import re

from e2e.helpers import screenshot, sign_in
from e2e.rackdata import SERVER, SWITCH, block, make_rack, place, unique


def card(page, rack_name: str):
    return page.get_by_role("article", name=rack_name)


def test_create_a_rack_in_the_ui_and_the_api_has_it(signed_in, server, artifacts):
    page, client = signed_in, server[1]
    name = unique("garage")
    page.get_by_role("button", name="New rack").click()
    dialog = page.get_by_role("dialog", name="New rack")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Location").fill("Garage")
    dialog.get_by_label("Height (U)").fill("18")
    dialog.get_by_label("Width").select_option("10")
    dialog.get_by_label("Depth (mm)").fill("450")
    dialog.get_by_label("Max weight (kg)").fill("80")
    dialog.get_by_label("Max power (W)").fill("600")
    dialog.get_by_label("Ergonomic unit").fill("9")
    dialog.get_by_label("Notes").fill("Next to the bikes")
    dialog.get_by_role("button", name="Create rack").click()
    new = card(page, name)
    new.wait_for()
    assert "18U · 10 in · 450 mm deep" in new.inner_text()
    assert "0 / 18 U" in new.inner_text()  # its utilization meter

    stored = client.get(f"/api/racks?q={name}")["items"]
    assert len(stored) == 1
    rack = stored[0]
    assert (
        rack["location"],
        rack["u_height"],
        rack["width_in"],
        rack["depth_mm"],
        rack["max_weight_kg"],
        rack["max_power_w"],
        rack["ergonomic_u"],
        rack["notes"],
    ) == ("Garage", 18, 10, 450, 80.0, 600.0, 9, "Next to the bikes")

    # A refused create (duplicate name) keeps the dialog open with the API's reason.
    page.expected_errors.append("409")
    page.get_by_role("button", name="New rack").click()
    dialog = page.get_by_role("dialog", name="New rack")
    dialog.get_by_label("Name").fill(name.upper())
    dialog.get_by_role("button", name="Create rack").click()
    assert "already exists" in dialog.get_by_role("alert").inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    screenshot(page, artifacts, "racks-list", phone=True)
    page.emulate_media(color_scheme="dark")
    screenshot(page, artifacts, "racks-list-dark")


def test_edit_and_delete_a_rack_and_the_apis_refusal(signed_in, server):
    page, client = signed_in, server[1]
    page.expected_errors.append("409")
    full = make_rack(client, "full")
    place(client, full, SWITCH, 3)
    empty = make_rack(client, "empty")
    page.reload()

    # A rack that holds devices: the API refuses, the message says why, the rack stays.
    card(page, full["name"]).get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    assert "still holds 1 device" in page.get_by_role("alert").first.inner_text()
    assert card(page, full["name"]).is_visible()
    client.get(f"/api/racks/{full['id']}")  # still there

    # Edit: the new name is shown and stored.
    renamed = unique("renamed")
    card(page, empty["name"]).get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(renamed)
    dialog.get_by_label("Height (U)").fill("20")
    dialog.get_by_role("button", name="Save").click()
    card(page, renamed).wait_for()
    assert client.get(f"/api/racks/{empty['id']}")["u_height"] == 20

    # Delete an empty rack: gone from the list and from the API.
    card(page, renamed).get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    card(page, renamed).wait_for(state="detached")
    client.call("GET", f"/api/racks/{empty['id']}", expect=404)


def test_utilization_and_opening_racks_side_by_side(signed_in, server, artifacts):
    page, client = signed_in, server[1]
    a = make_rack(client, "left", max_weight_kg=100.0, max_power_w=1000.0)
    b = make_rack(client, "right")
    place(client, a, SERVER, 1)
    place(client, a, SERVER, 2)
    place(client, b, SWITCH, 12)
    page.reload()
    text = card(page, a["name"]).inner_text()
    assert "2 / 12 U" in text
    assert "32.6 / 100 kg" in text
    assert "440 / 1000 W" in text
    # The meter says it to screen readers too.
    power = card(page, a["name"]).get_by_role("meter", name="Power")
    assert power.get_attribute("aria-valuenow") == "44"

    page.get_by_role("checkbox", name=f"Select {a['name']}").check()
    page.get_by_role("checkbox", name=f"Select {b['name']}").check()
    page.get_by_role("button", name="Open 2 side by side").click()
    page.get_by_role("heading", name="Racks side by side").wait_for()
    assert page.url.endswith(f"#/racks/{a['id']},{b['id']}")
    assert page.locator(".elevation").count() == 2
    page.get_by_role("region", name=b["name"], exact=True).get_by_role("heading").wait_for()


def test_a_viewer_sees_no_write_controls(browser_page, server):
    page, client = browser_page, server[1]
    rack = make_rack(client, "viewed")
    dev = place(client, rack, SWITCH, 5)
    sign_in(page, "viewer")
    card(page, rack["name"]).wait_for()
    for name in ("New rack", "Edit", "Delete"):
        assert page.get_by_role("button", name=name).count() == 0

    page.goto(f"/#/racks/{rack['id']}")
    block(page, dev).wait_for()
    for name in ("Add device", "Edit rack"):
        assert page.get_by_role("button", name=name).count() == 0
    # The optimizer proposes (a read), but offers no Apply.
    page.get_by_role("button", name="Optimize").click()
    panel = page.get_by_role("complementary")
    panel.get_by_role("button", name="Propose a layout").click()
    panel.get_by_role("figure", name="Proposed").wait_for()
    assert panel.get_by_role("button", name="Apply this layout").count() == 0
    assert "needs the editor role" in panel.inner_text()
    panel.get_by_role("button", name="Close panel").click()
    # Enter on a device opens its details (no pick-up), without any write action.
    block(page, dev).focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name=dev["name"]).wait_for()
    for name in ("Edit…", "Lock", "Move…", "Remove from rack", "Delete"):
        assert panel.get_by_role("button", name=name).count() == 0
    assert not page.locator(".device.picked").count()
    # Dragging does nothing either: the device stays where the API has it.
    block(page, dev).drag_to(page.locator('.slot[data-u="9"]'))
    page.wait_for_timeout(300)
    assert re.search(r", U5,", block(page, dev).get_attribute("aria-label"))
    assert client.get(f"/api/devices/{dev['id']}")["position_u"] == 5
