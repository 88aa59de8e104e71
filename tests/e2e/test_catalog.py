"""The catalog: device types (search, filters, paging, a custom type) and brands with
their logos (upload, refusal, removal, the logo in the rack elevation)."""

from __future__ import annotations

import io
import re
import secrets

from PIL import Image

from e2e.helpers import screenshot, sign_in


def png(colour=(31, 95, 168), size=(48, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def new_brand(api, prefix="Logo") -> dict:
    return api.post(
        "/api/brands",
        {"name": f"{prefix} {secrets.token_hex(3)}", "website": "https://example.org"},
    )


def open_brands(page, name: str):
    """The catalog's Brands tab, filtered to one brand; returns its card."""
    page.goto("/#/catalog")
    page.get_by_role("tab", name="Brands").click()
    page.get_by_label("Filter brands").fill(name)
    heading = page.get_by_role("heading", name=name, exact=True)
    card = page.locator(".brand-card").filter(has=heading)
    card.wait_for()
    return card


def test_upload_a_logo_shows_it_on_the_brand_and_remove_it(signed_in, server, artifacts):
    page = signed_in
    _, api = server
    brand = new_brand(api)
    card = open_brands(page, brand["name"])
    assert "No logo" in card.inner_text()

    page.get_by_label(f"Upload logo for {brand['name']}").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": png()}]
    )
    card.get_by_text("Logo uploaded.").wait_for()
    stored = api.get(f"/api/brands/{brand['id']}")["logo_url"]
    assert stored and re.fullmatch(r"/uploads/logos/[0-9a-f]{64}\.png", stored)
    logo = card.locator("img.logo")
    assert logo.get_attribute("src") == stored
    assert logo.get_attribute("alt") == f"{brand['name']} logo"
    # The browser really loaded it (served, allowed by the CSP).
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 48", arg=logo.element_handle()
    )
    screenshot(page, artifacts, "catalog-brands", phone=True)

    card.get_by_role("button", name=f"Remove logo of {brand['name']}").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove logo").click()
    card.get_by_text("Logo removed.").wait_for()
    assert card.locator("img.logo").count() == 0
    assert api.get(f"/api/brands/{brand['id']}")["logo_url"] is None


def test_a_refused_logo_shows_the_api_message(signed_in, server):
    page = signed_in
    page.expected_errors.append("422")
    _, api = server
    brand = new_brand(api, "Refused")
    card = open_brands(page, brand["name"])
    page.get_by_label(f"Upload logo for {brand['name']}").set_input_files(
        files=[
            {
                "name": "logo.png",
                "mimeType": "image/png",
                "buffer": b"just some text, not an image\n",
            }
        ]
    )
    alert = card.get_by_role("alert")
    alert.wait_for()
    assert "not a PNG, JPEG or WebP image" in alert.inner_text()
    assert card.locator("img.logo").count() == 0
    assert api.get(f"/api/brands/{brand['id']}")["logo_url"] is None


def test_the_logo_shows_in_the_rack_elevation(signed_in, server):
    """Needs the rack view (ui-rack): its device blocks carry the brand's logo."""
    page = signed_in
    _, api = server
    brand = new_brand(api, "Elevation")
    dtype = api.post(
        "/api/device-types",
        {"brand_id": brand["id"], "model": "Logo Box 1U", "category": "server", "u_height": 1},
    )
    brand = api.call(
        "PUT", f"/api/brands/{brand['id']}/logo", raw=png((200, 40, 40)), content_type="image/png"
    )
    rack = api.post("/api/racks", {"name": f"Logo rack {secrets.token_hex(3)}", "u_height": 6})
    device = api.post(
        "/api/devices",
        {
            "name": f"logo-box-{secrets.token_hex(3)}",
            "device_type_id": dtype["id"],
            "rack_id": rack["id"],
            "position_u": 3,
        },
    )
    page.goto(f"/#/racks/{rack['id']}")
    logo = page.locator(f"[data-device-id='{device['id']}'] img.logo")
    logo.wait_for()
    assert logo.get_attribute("src") == brand["logo_url"]


def test_add_a_brand_and_a_refused_delete(signed_in, server):
    page = signed_in
    page.expected_errors.append("409")
    _, api = server
    name = f"Brand {secrets.token_hex(3)}"
    page.goto("/#/catalog")
    page.get_by_role("tab", name="Brands").click()
    page.get_by_role("button", name="Add brand").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Website").fill("https://brand.example")
    dialog.get_by_role("button", name="Add brand").click()
    dialog.wait_for(state="detached")
    page.locator(".brand-card").filter(has=page.get_by_role("heading", name=name)).wait_for()
    brand = api.get(f"/api/brands?q={name.replace(' ', '%20')}")["items"][0]
    assert (brand["name"], brand["website"]) == (name, "https://brand.example")

    # A brand with device types cannot go: the API's reason reaches the user.
    api.post(
        "/api/device-types",
        {"brand_id": brand["id"], "model": "Box", "category": "other", "u_height": 1},
    )
    page.get_by_role("button", name=f"Delete brand {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    assert "still used by 1 device type" in page.locator(".toast.error").inner_text()
    assert api.get(f"/api/brands/{brand['id']}")["name"] == name


def test_add_a_custom_device_type(signed_in, server, artifacts):
    page = signed_in
    _, api = server
    brand = new_brand(api, "Custom")
    model = f"Homebrew NAS {secrets.token_hex(3)}"
    page.goto("/#/catalog")
    page.get_by_role("button", name="Add device type").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Brand").select_option(label=brand["name"])
    dialog.get_by_label("Model").fill(model)
    dialog.get_by_label("Category").select_option("storage")
    dialog.get_by_label("Height (U)").fill("2")
    dialog.get_by_label("Width (inches)").select_option("19")
    dialog.get_by_label("Depth (mm)").fill("450")
    dialog.get_by_label("Weight (kg)").fill("12.5")
    dialog.get_by_label("Power (W, typical draw)").fill("65")
    dialog.get_by_label("Airflow").select_option("back_to_front")
    dialog.get_by_label("Ports").fill("4")
    dialog.get_by_role("button", name="Add device type").click()
    dialog.wait_for(state="detached")

    row = page.locator(".types-table tbody tr").filter(has_text=model)
    row.wait_for()
    text = row.inner_text()
    assert brand["name"] in text and "2 U" in text and "450 mm" in text
    stored = api.get(f"/api/device-types?brand_id={brand['id']}")["items"]
    assert [
        {
            k: t[k]
            for k in (
                "model",
                "category",
                "u_height",
                "width_in",
                "depth_mm",
                "weight_kg",
                "power_w",
                "airflow",
                "port_count",
            )
        }
        for t in stored
    ] == [
        {
            "model": model,
            "category": "storage",
            "u_height": 2,
            "width_in": 19,
            "depth_mm": 450,
            "weight_kg": 12.5,
            "power_w": 65.0,
            "airflow": "back_to_front",
            "port_count": 4,
        }
    ]

    # The API's refusal stays in the dialog: the same model twice for one brand.
    page.expected_errors.append("409")
    page.get_by_role("button", name="Add device type").click()
    dialog.get_by_label("Brand").select_option(label=brand["name"])
    dialog.get_by_label("Model").fill(model)
    dialog.get_by_role("button", name="Add device type").click()
    assert "already has a model named" in dialog.get_by_role("alert").inner_text()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert api.get(f"/api/device-types?brand_id={brand['id']}")["total"] == 1


def wait_all_shown(page, n: int) -> None:
    """Until the list says it shows all n matching device types."""
    page.wait_for_function(
        "n => document.querySelector('.types-status').textContent"
        " === `Showing ${n} of ${n} device types.`",
        arg=n,
    )


def test_search_filter_and_page_through_the_device_types(signed_in, server, artifacts):
    page = signed_in
    _, api = server
    total = api.get("/api/device-types?limit=1")["total"]
    page.goto("/#/catalog")
    status = page.locator(".types-status")
    page.wait_for_function(
        "el => el.textContent.startsWith('Showing')", arg=status.element_handle()
    )
    rows = page.locator(".types-table tbody tr")
    assert rows.count() == min(50, total)
    screenshot(page, artifacts, "catalog", phone=True)
    if total > 50:
        page.get_by_role("button", name=re.compile(r"^Show \d+ more$")).click()
        page.wait_for_function(
            "n => document.querySelectorAll('.types-table tbody tr').length === n",
            arg=min(100, total),
        )

    page.get_by_label("Search device types").fill("PowerEdge")
    expected = api.get("/api/device-types?q=PowerEdge")["total"]
    wait_all_shown(page, expected)
    assert expected > 0 and all("PowerEdge" in t for t in rows.all_inner_texts())

    page.get_by_label("Search device types").fill("")
    page.locator(".filters").get_by_label("Category").select_option("ups")
    ups = api.get("/api/device-types?category=ups")["total"]
    wait_all_shown(page, ups)
    assert {c.strip() for c in page.locator(".types-table .cat-chip").all_inner_texts()} == {"ups"}


def test_a_viewer_reads_the_catalog_without_write_controls(browser_page, server):
    page = browser_page
    sign_in(page, "viewer")
    page.goto("/#/catalog")
    page.locator(".types-table tbody tr").first.wait_for()
    assert page.get_by_role("button", name="Add device type").count() == 0
    assert page.get_by_role("button", name="Edit", exact=False).count() == 0
    page.get_by_role("tab", name="Brands").click()
    page.locator(".brand-card").first.wait_for()
    assert page.get_by_role("button", name="Add brand").count() == 0
    assert page.locator("input[type=file]").count() == 0
