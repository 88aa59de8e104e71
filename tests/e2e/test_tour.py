"""The demo homelab as a newcomer sees it after `make dev`: the racks list and the
basement rack with its cables, in the light and dark themes and on a phone. The
screenshots are the closing pictures of the suite (test-artifacts/e2e/tour-*.png)."""

from __future__ import annotations

from e2e.helpers import screenshot


def test_the_demo_homelab_shows_its_racks_devices_and_cables(signed_in, server, artifacts):
    page = signed_in
    api = server[1]
    racks = {r["name"]: r for r in api.get("/api/racks?q=rack&limit=200")["items"]}
    basement = racks["Basement rack"]
    page.get_by_role("heading", name="Basement rack").wait_for()
    screenshot(page, artifacts, "tour-racks", phone=True)

    page.goto(f"/#/racks/{basement['id']}")
    detail = api.get(f"/api/racks/{basement['id']}")
    blocks = page.locator("[data-device-id]")
    blocks.first.wait_for()
    # Every placed device is drawn, once, with its name.
    assert blocks.count() == len(detail["devices"])
    for device in detail["devices"]:
        block = page.locator(f'[data-device-id="{device["id"]}"]')
        assert device["name"] in block.inner_text()
    cables = api.get(f"/api/connections?rack_id={basement['id']}&limit=200")["total"]
    section = page.locator(".cables")
    section.get_by_role("heading", name="Cable BOM").wait_for()
    assert f"{cables} connection" in section.inner_text()
    screenshot(page, artifacts, "tour-basement", phone=True)
    page.emulate_media(color_scheme="dark")
    screenshot(page, artifacts, "tour-basement-dark")
