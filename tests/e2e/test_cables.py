"""The cables section below a rack's elevation: connections and the cable BOM."""

from __future__ import annotations

import csv
import io
import secrets

from e2e.helpers import screenshot, sign_in

CABLE_LABEL_FORMULA = '=HYPERLINK("http://x")'


def rack_with_devices(
    api, prefix: str, names=("sw", "srv"), models=("USW-Pro-24-PoE", "PowerEdge R250")
) -> dict:
    """A rack (unique name) with one placed device per name; returns the rack (GET) with
    its devices, plus ``tag`` (the unique suffix)."""
    tag = secrets.token_hex(3)
    rack = api.post("/api/racks", {"name": f"{prefix} {tag}", "u_height": 12})
    for i, (name, model) in enumerate(zip(names, models, strict=True)):
        api.post(
            "/api/devices",
            {
                "name": f"{name}-{tag}",
                "rack_id": rack["id"],
                "device_type_id": api.device_type(model)["id"],
                "position_u": 10 - 3 * i,
            },
        )
    return {**api.get(f"/api/racks/{rack['id']}"), "tag": tag}


def open_cables(page, rack_id: int):
    """The rack page's cables section (found by its heading "Cables")."""
    page.goto(f"/#/racks/{rack_id}")
    heading = page.get_by_role("heading", name="Cables", exact=True)
    section = page.locator(".cables").filter(has=heading)
    section.wait_for()
    section.get_by_role("heading", name="Cable BOM").wait_for()
    return section


def test_add_a_cable_lists_it_stores_it_and_fills_the_bom(signed_in, server, artifacts):
    page = signed_in
    _, api = server
    rack = rack_with_devices(api, "Cables add")
    sw, srv = (f"sw-{rack['tag']}", f"srv-{rack['tag']}")
    section = open_cables(page, rack["id"])
    assert "No cables yet" in section.inner_text()

    # The API's refusal stays in the dialog: a cable needs two different devices.
    page.expected_errors.append("422")
    section.get_by_role("button", name="Add cable").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Device A").select_option(label=f"{sw} (U10)")
    dialog.get_by_label("Device B").select_option(label=f"{sw} (U10)")
    dialog.get_by_role("button", name="Add cable").click()
    assert "two different devices" in dialog.get_by_role("alert").inner_text()

    dialog.get_by_label("Device B").select_option(label=f"{srv} (U7)")
    dialog.get_by_label("Cable type").select_option("dac")
    dialog.get_by_label("Count").fill("2")
    dialog.get_by_label("Label").fill("10G uplinks")
    dialog.get_by_role("button", name="Add cable").click()
    dialog.wait_for(state="detached")

    row = section.locator(".cable-table tbody tr").filter(has_text="10G uplinks")
    row.wait_for()
    assert sw in row.inner_text() and srv in row.inner_text() and "DAC" in row.inner_text()
    stored = api.get(f"/api/connections?rack_id={rack['id']}")["items"]
    assert [
        (c["device_a"], c["device_b"], c["cable_type"], c["count"], c["label"]) for c in stored
    ] == [(sw, srv, "dac", 2, "10G uplinks")]

    # The BOM follows without a reload: the run, and its stock length in the totals.
    bom = api.get(f"/api/racks/{rack['id']}/bom")
    line = bom["lines"][0]
    runs = section.locator("table.bom-lines tbody tr")
    runs.filter(has_text=f"{sw} ↔ {srv}").wait_for()
    assert f"{line['length_mm'] / 1000:.2f} m" in runs.first.inner_text()
    totals = section.locator("table.bom-totals")
    assert "DAC" in totals.locator("tbody").inner_text()
    assert f"{line['stock_length_m']:g} m" in totals.locator("tbody").inner_text()
    # The footer: all cables, their count and the length to buy.
    footer = totals.locator("tfoot").inner_text().split()
    assert footer[-3:] == ["2", f"{2 * line['stock_length_m']:g}", "m"]
    screenshot(page, artifacts, "cables-bom", phone=True)
    page.emulate_media(color_scheme="dark")
    screenshot(page, artifacts, "cables-bom-dark")


def test_edit_and_remove_a_cable(signed_in, server):
    page = signed_in
    _, api = server
    rack = rack_with_devices(api, "Cables edit")
    ids = {d["name"]: d["id"] for d in rack["devices"]}
    sw, srv = (f"sw-{rack['tag']}", f"srv-{rack['tag']}")
    conn = api.post(
        "/api/connections",
        {"device_a_id": ids[sw], "device_b_id": ids[srv], "cable_type": "cat6", "label": "mgmt"},
    )
    section = open_cables(page, rack["id"])

    section.get_by_role("button", name=f"Edit cable {sw} ↔ {srv}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Cable type").select_option("cat6a")
    dialog.get_by_label("Count").fill("3")
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")
    section.locator(".cable-table tbody tr").filter(has_text="Cat6a").wait_for()
    assert api.get(f"/api/connections/{conn['id']}")["cable_type"] == "cat6a"
    assert api.get(f"/api/connections/{conn['id']}")["count"] == 3
    assert "Cat6a" in section.locator("table.bom-totals").inner_text()

    section.get_by_role("button", name=f"Remove cable {sw} ↔ {srv}").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    section.get_by_text("No cables yet").wait_for()
    assert api.get(f"/api/connections?rack_id={rack['id']}")["total"] == 0
    assert "No cable runs" in section.locator(".bom").inner_text()


def test_the_bom_csv_downloads_with_the_api_name_and_defused_formulas(signed_in, server, tmp_path):
    page = signed_in
    _, api = server
    rack = rack_with_devices(api, "Cables csv")
    ids = {d["name"]: d["id"] for d in rack["devices"]}
    sw, srv = (f"sw-{rack['tag']}", f"srv-{rack['tag']}")
    api.post(
        "/api/connections",
        {
            "device_a_id": ids[sw],
            "device_b_id": ids[srv],
            "cable_type": "cat6",
            "count": 2,
            "label": CABLE_LABEL_FORMULA,
        },
    )
    section = open_cables(page, rack["id"])

    with page.expect_download() as info:
        section.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"cables-csv-{rack['tag']}-bom.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    cables = [r for r in rows if r["row"] == "cable"]
    assert [(r["device_a"], r["device_b"], r["cable_type"], r["count"]) for r in cables] == [
        (sw, srv, "cat6", "2")
    ]
    # The label is text in a spreadsheet, never a formula: a leading apostrophe.
    assert cables[0]["label"] == "'" + CABLE_LABEL_FORMULA
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values() if v)
    assert [r["count"] for r in rows if r["row"] == "total"] == ["2"]
    # The page showed the label as plain text too.
    assert CABLE_LABEL_FORMULA in section.locator(".cable-table").inner_text()


def test_a_cable_leaving_the_rack_and_a_viewer_without_write_controls(browser_page, server):
    page = browser_page
    _, api = server
    rack = rack_with_devices(api, "Cables out")
    other = rack_with_devices(api, "Cables far", names=("patch",), models=("USW-Pro-24-PoE",))
    here = {d["name"]: d["id"] for d in rack["devices"]}
    far = other["devices"][0]
    api.post(
        "/api/connections",
        {
            "device_a_id": here[f"sw-{rack['tag']}"],
            "device_b_id": far["id"],
            "cable_type": "fiber_os2",
            "label": "trunk",
        },
    )

    sign_in(page, "viewer")
    section = open_cables(page, rack["id"])
    row = section.locator(".cable-table tbody tr").filter(has_text="trunk")
    assert "other rack" in row.inner_text()
    assert "Not in the BOM" in section.locator(".bom").inner_text()
    assert section.get_by_role("button", name="Add cable").count() == 0
    assert section.get_by_role("button", name="Edit cable", exact=False).count() == 0
    assert section.get_by_role("button", name="Download CSV").is_visible()


def test_an_editor_picks_a_device_of_another_rack(browser_page, server):
    page = browser_page
    _, api = server
    rack = rack_with_devices(api, "Cables pick")
    other = rack_with_devices(api, "Cables pick far", names=("far",), models=("USW-Pro-24-PoE",))
    far = other["devices"][0]
    sign_in(page, "editor")
    section = open_cables(page, rack["id"])
    section.get_by_role("button", name="Add cable").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Device A").select_option(label=f"sw-{rack['tag']} (U10)")
    dialog.get_by_label("Offer devices outside this rack").check()
    dialog.locator(f"optgroup[label='{other['name']}'] option").first.wait_for(state="attached")
    dialog.get_by_label("Device B").select_option(str(far["id"]))
    dialog.get_by_role("button", name="Add cable").click()
    dialog.wait_for(state="detached")
    section.locator(".cable-table tbody tr").filter(has_text=far["name"]).wait_for()
    stored = api.get(f"/api/connections?device_id={far['id']}")["items"]
    assert [(c["device_a"], c["device_b"]) for c in stored] == [(f"sw-{rack['tag']}", far["name"])]
