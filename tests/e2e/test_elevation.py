"""The rack elevation: true to scale, adding devices, moving them by drag, keyboard and
the Move… dialog (within a rack and between racks side by side), refused moves, and the
device panel's actions."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.helpers import screenshot
from e2e.rackdata import (
    NAS,
    SERVER,
    SHELF_10,
    SWITCH,
    UPS,
    block,
    label_unit,
    make_rack,
    place,
    positions,
    slot,
    unique,
)

UNIT_MM, WIDTH_MM = 44.45, {10: 254.0, 19: 482.6}


def open_racks(page, *racks):
    page.goto(f"/#/racks/{','.join(str(r['id']) for r in racks)}")
    page.locator(".elev-area[data-interactive]").nth(len(racks) - 1).wait_for()


def box(locator):
    b = locator.bounding_box()
    assert b, "not rendered"
    return b


def test_the_elevation_is_true_to_scale_and_labelled(signed_in, server, artifacts):
    page, client = signed_in, server[1]
    big = make_rack(client, "scale19", u_height=16, location="Lab")
    small = make_rack(client, "scale10", u_height=6, width_in=10)
    nas = place(client, big, NAS, 10, "nas")
    place(client, big, SWITCH, 16, "sw")
    place(client, big, UPS, 1, "ups")
    place(client, small, SHELF_10, 3, "shelf")
    open_racks(page, big, small)

    area = box(page.locator(f'.elev-area[data-rack-id="{big["id"]}"]'))
    unit = area["height"] / 16
    # 1U = 44.45 mm and 19 in = 482.6 mm at the same scale (within a pixel of rounding).
    assert abs(area["width"] / unit - WIDTH_MM[19] / UNIT_MM) < 0.1
    small_area = box(page.locator(f'.elev-area[data-rack-id="{small["id"]}"]'))
    assert abs(small_area["height"] / 6 - unit) < 0.5  # one scale for both racks
    assert abs(small_area["width"] - WIDTH_MM[10] / UNIT_MM * unit) < 2
    # A 2U device spans two units; blocks are focusable with a full label.
    assert abs(box(block(page, nas))["height"] - 2 * unit) < 3
    label = block(page, nas).get_attribute("aria-label")
    assert label == f"{nas['name']}, Synology RackStation RS1221+, U10\u2013U11, 2U"
    assert block(page, nas).get_attribute("tabindex") == "0"
    assert "cat-storage" in block(page, nas).get_attribute("class")
    # Free units are visible slots (16 units - 1 - 2 - 2 used), units numbered bottom-up.
    assert page.locator(f'.elev-area[data-rack-id="{big["id"]}"] .slot').count() == 11
    rail = page.locator(f'.elevation[data-rack-id="{big["id"]}"] .elev-rail.left span')
    assert rail.first.inner_text() == "16" and rail.last.inner_text() == "1"
    assert box(rail.last)["y"] > box(rail.first)["y"]
    screenshot(page, artifacts, "rack-two-side-by-side", phone=True)

    # On a phone the elevation fits the width and stays true to scale.
    page.set_viewport_size({"width": 390, "height": 844})
    open_racks(page, big)
    frame = box(page.locator(".elevation .elev-frame"))
    assert frame["x"] >= 0 and frame["x"] + frame["width"] <= 390
    area = box(page.locator(".elev-area"))
    assert abs(area["width"] / (area["height"] / 16) - WIDTH_MM[19] / UNIT_MM) < 0.1
    screenshot(page, artifacts, "rack-one-phone")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.emulate_media(color_scheme="dark")
    open_racks(page, big)
    screenshot(page, artifacts, "rack-one-dark", phone=True)


def test_add_devices_from_the_catalog_and_the_unplaced_ones(signed_in, server, artifacts):
    page, client = signed_in, server[1]
    rack = make_rack(client, "adding", u_height=8)
    place(client, rack, SERVER, 1)
    spare = place(client, None, NAS, None, "spare")
    open_racks(page, rack)

    # From the catalog, at the first free unit that fits.
    name = unique("new-switch")
    page.get_by_role("button", name="Add device").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Search the catalog").fill("USW-Pro-24-PoE")
    dialog.get_by_role("radio", name=re.compile("UniFi Switch Pro 24 PoE")).check()
    dialog.get_by_label("Device name").fill(name)
    assert "First free unit that fits (U2)" in dialog.get_by_label("Position").inner_text()
    screenshot(page, artifacts, "rack-add-device")
    dialog.get_by_role("button", name="Add device").click()
    dialog.wait_for(state="detached")
    page.get_by_role("button", name=re.compile(f"^{name}, ")).wait_for()
    added = next(d for d in client.get(f"/api/racks/{rack['id']}")["devices"] if d["name"] == name)
    assert added["position_u"] == 2

    # At a chosen unit, from a click on a free slot.
    name2 = unique("second")
    slot(page, rack, 6).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Search the catalog").fill("DL360 Gen10")
    dialog.get_by_role("radio", name=re.compile("ProLiant DL360 Gen10")).first.check()
    dialog.get_by_label("Device name").fill(name2)
    assert dialog.get_by_label("Position").input_value() == "6"
    dialog.get_by_role("button", name="Add device").click()
    page.get_by_role("button", name=re.compile(f"^{name2}, .*, U6, 1U")).wait_for()

    # One of the unplaced devices, at a chosen unit.
    page.get_by_role("button", name="Add device").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("radio", name="One of the unplaced devices").check()
    dialog.get_by_label("Device to place").select_option(str(spare["id"]))
    dialog.get_by_label("Position").select_option("U3\u2013U4")
    dialog.get_by_role("button", name="Add device").click()
    block(page, spare).wait_for()
    stored = client.get(f"/api/devices/{spare['id']}")
    assert (stored["rack_id"], stored["position_u"]) == (rack["id"], 3)


def test_drag_a_device_to_a_new_unit_and_it_is_saved(signed_in, server, artifacts):
    page, client = signed_in, server[1]
    rack = make_rack(client, "drag")
    dev = place(client, rack, SERVER, 2)
    open_racks(page, rack)
    block(page, dev).drag_to(slot(page, rack, 9))
    page.get_by_text(f"{dev['name']} moved to U9.").wait_for()
    assert client.get(f"/api/devices/{dev['id']}")["position_u"] == 9
    assert label_unit(page, dev) == 9
    page.reload()
    block(page, dev).wait_for()
    assert label_unit(page, dev) == 9
    screenshot(page, artifacts, "rack-one", phone=True)

    # Escape during a drag puts the device back: nothing is sent, no details open.
    patches = []
    page.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" else None)
    start, target = box(block(page, dev)), box(slot(page, rack, 2))
    page.mouse.move(start["x"] + 40, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] + 40, target["y"] + target["height"] / 2, steps=4)
    page.locator(".ghost").wait_for()
    page.keyboard.press("Escape")
    page.mouse.up()
    page.locator(".ghost").wait_for(state="detached")
    page.wait_for_timeout(300)
    assert patches == []
    assert label_unit(page, dev) == 9
    assert page.locator(".rack-panel[data-empty]").count() == 1
    # The drawing agrees with the label: U9 is the 4th unit from the top of 12.
    area = box(page.locator(".elev-area"))
    top = box(block(page, dev))["y"] - area["y"]
    assert abs(top / (area["height"] / 12) - 3) < 0.2


def test_a_refused_move_snaps_back_with_the_apis_reason(signed_in, server):
    page, client = signed_in, server[1]
    page.expected_errors.append("422")
    rack = make_rack(client, "refuse")
    mover = place(client, rack, SWITCH, 3, "mover")
    other = place(client, rack, SERVER, 8, "other")
    locked = place(client, rack, SERVER, 5, "locked", locked=True)
    open_racks(page, rack)

    block(page, mover).drag_to(block(page, other))
    alert = page.get_by_role("alert").filter(has_text="overlap")
    alert.wait_for()
    # The API's own words: "devices 'a' (U8) and 'b' (U8) overlap".
    assert re.search(
        r"devices '(mover|other)-\w+' \(U8\) and '(mover|other)-\w+' \(U8\) overlap",
        alert.inner_text(),
    )
    assert label_unit(page, mover) == 3
    assert not page.locator(".ghost").count()
    assert client.get(f"/api/devices/{mover['id']}")["position_u"] == 3
    # Back at its place (no leftover drag offset, once the snap-back animation ended).
    page.locator(".device.snapping").wait_for(state="detached")
    above = box(slot(page, rack, 4))
    assert abs(box(block(page, mover))["y"] - (above["y"] + above["height"])) < 3

    # A locked device does not move; no request is sent, the reason is shown.
    patches = []
    page.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" else None)
    block(page, locked).drag_to(slot(page, rack, 10))
    page.get_by_role("alert").filter(has_text="is locked").wait_for()
    assert patches == []
    assert label_unit(page, locked) == 5
    assert client.get(f"/api/devices/{locked['id']}")["position_u"] == 5


def test_keyboard_only_move(signed_in, server):
    page, client = signed_in, server[1]
    rack = make_rack(client, "keys")
    dev = place(client, rack, SWITCH, 7)
    open_racks(page, rack)
    block(page, dev).focus()
    page.keyboard.press("Enter")
    live = page.locator(".rack-sr[aria-live]")
    expect(live).to_contain_text("Picked up")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(live).to_have_text("U5, free")
    page.keyboard.press("Enter")
    page.get_by_text(f"{dev['name']} moved to U5.").wait_for()
    assert client.get(f"/api/devices/{dev['id']}")["position_u"] == 5
    # The focus stays on the moved device, which says where it is now.
    page.wait_for_function(f"() => document.activeElement?.dataset.deviceId === '{dev['id']}'")
    assert label_unit(page, dev) == 5

    # Escape cancels a pick-up: nothing is saved.
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Escape")
    expect(live).to_contain_text("cancelled")
    assert client.get(f"/api/devices/{dev['id']}")["position_u"] == 5


def test_move_between_two_racks_side_by_side(signed_in, server, artifacts):
    page, client = signed_in, server[1]
    a = make_rack(client, "from")
    b = make_rack(client, "to")
    dev = place(client, a, SERVER, 4, "traveller")
    place(client, b, SWITCH, 12)
    open_racks(page, a, b)
    block(page, dev).drag_to(slot(page, b, 6))
    page.get_by_text(f"{dev['name']} moved to U6 in {b['name']}.").wait_for()
    stored = client.get(f"/api/devices/{dev['id']}")
    assert (stored["rack_id"], stored["position_u"]) == (b["id"], 6)
    page.locator(f'.elev-area[data-rack-id="{b["id"]}"] [data-device-id="{dev["id"]}"]').wait_for()
    assert dev["id"] not in positions(client, a)
    screenshot(page, artifacts, "rack-two-after-move", phone=True)

    # With the keyboard: Left moves the picked-up device to the rack on the left.
    block(page, dev).focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.get_by_text(f"{dev['name']} moved to U7 in {a['name']}.").wait_for()
    stored = client.get(f"/api/devices/{dev['id']}")
    assert (stored["rack_id"], stored["position_u"]) == (a["id"], 7)

    # Back with the Move… dialog (no pointer needed).
    block(page, dev).click()
    page.get_by_role("complementary").get_by_role("button", name="Move…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Rack").select_option(str(b["id"]))
    dialog.get_by_label("Unit").fill("11")
    dialog.get_by_role("button", name="Move").click()
    page.locator(f'.elev-area[data-rack-id="{b["id"]}"] [data-device-id="{dev["id"]}"]').wait_for()
    stored = client.get(f"/api/devices/{dev['id']}")
    assert (stored["rack_id"], stored["position_u"]) == (b["id"], 11)


def test_device_panel_edit_lock_remove_delete(signed_in, server):
    page, client = signed_in, server[1]
    rack = make_rack(client, "panel")
    dev = place(
        client,
        rack,
        SERVER,
        4,
        "detail",
        serial_number="SN-123",
        management_url="https://ilo.example/",
        notes="rear PSU loose",
    )
    gone = place(client, rack, SWITCH, 10, "gone")
    open_racks(page, rack)
    block(page, dev).click()
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name=dev["name"]).wait_for()
    text = panel.inner_text()
    for fact in (
        "U4 in",
        "16.3 kg",
        "220 W",
        "front to back",
        "monthly",
        "SN-123",
        "https://ilo.example/",
        "rear PSU loose",
    ):
        assert fact in text, fact

    renamed = unique("renamed")
    panel.get_by_role("button", name="Edit…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(renamed)
    dialog.get_by_label("Access frequency").select_option("daily")
    dialog.get_by_role("button", name="Save").click()
    panel.get_by_role("heading", name=renamed).wait_for()
    stored = client.get(f"/api/devices/{dev['id']}")
    assert (stored["name"], stored["access_frequency"]) == (renamed, "daily")

    # exact: a name is matched as a substring otherwise, and "Unlock" contains "Lock" (the
    # wait after Unlock returned at once, and Remove raced the unlock's PATCH).
    lock, unlock = (panel.get_by_role("button", name=n, exact=True) for n in ("Lock", "Unlock"))
    lock.click()
    unlock.wait_for()
    assert client.get(f"/api/devices/{dev['id']}")["locked"] is True
    assert block(page, dev).get_attribute("aria-label").endswith(", locked")
    unlock.click()
    lock.wait_for()
    assert client.get(f"/api/devices/{dev['id']}")["locked"] is False

    panel.get_by_role("button", name="Remove from rack").click()
    block(page, dev).wait_for(state="detached")
    stored = client.get(f"/api/devices/{dev['id']}")
    assert (stored["rack_id"], stored["position_u"]) == (None, None)

    block(page, gone).click()
    panel.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    block(page, gone).wait_for(state="detached")
    client.call("GET", f"/api/devices/{gone['id']}", expect=404)
