"""The admin pages: import / export of the inventory, and users."""

from __future__ import annotations

import datetime
import json
import re
import secrets

from e2e.helpers import PASSWORD, ApiClient, screenshot, sign_in


def rack_names(api) -> set[str]:
    return {r["name"] for r in api.get("/api/racks?limit=500")["items"]}


def import_file(page, name: str, content: bytes) -> None:
    """Choose the file, press import and confirm the replacement."""
    page.get_by_label("Inventory file (JSON)").set_input_files(
        files=[{"name": name, "mimeType": "application/json", "buffer": content}]
    )
    page.get_by_role("button", name="Import and replace…").click()
    dialog = page.get_by_role("dialog")
    assert "replaces the whole inventory" in dialog.inner_text()
    dialog.get_by_role("button", name="Replace the inventory").click()


def test_export_then_a_refused_import_then_the_export_back(signed_in, server, artifacts, tmp_path):
    page = signed_in
    page.expected_errors.append("422")
    _, api = server
    tag = secrets.token_hex(3)
    kept = api.post("/api/racks", {"name": f"Exported {tag}", "u_height": 10})
    page.goto("/#/transfer")

    with page.expect_download() as info:
        page.get_by_role("button", name="Export inventory").click()
    download = info.value
    assert download.suggested_filename == f"homerack-export-{datetime.date.today()}.json"
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)
    doc = json.loads(exported.read_text())
    assert doc["format"] == "homerack-inventory"
    assert f"Exported {tag}" in {r["name"] for r in doc["racks"]}
    page.get_by_text(f"Saved {download.suggested_filename}").wait_for()

    # A document with two field errors: both listed, with the record's name; nothing changed.
    later = api.post("/api/racks", {"name": f"After export {tag}", "u_height": 10})
    broken = {
        "format": "homerack-inventory",
        "version": 2,
        "racks": [{"name": f"Broken {tag}", "u_height": 100, "width_in": 20}],
    }
    import_file(page, "broken.json", json.dumps(broken).encode())
    refused = page.locator(".import-refused")
    refused.wait_for()
    assert "nothing changed" in refused.get_by_role("heading").inner_text()
    rows = [r.split("\t") for r in refused.locator("tbody tr").all_inner_texts()]
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [
        (f"Rack 1 “Broken {tag}”", "u height"),
        (f"Rack 1 “Broken {tag}”", "width in"),
    ]
    assert "less than or equal to 60" in rows[0][2]
    assert api.get(f"/api/racks/{kept['id']}")["name"] == f"Exported {tag}"
    assert f"Broken {tag}" not in rack_names(api)
    screenshot(page, artifacts, "transfer-errors", phone=True)

    # The export goes back in: the rack made after the export is gone, the others are back.
    # The progress line shows while the request runs (noted by an observer: it is quick).
    page.evaluate("""() => {
        const box = document.querySelector('.import-progress');
        new MutationObserver(() => {
            if (!box.hidden && box.textContent.includes('Importing')) window.sawProgress = true;
        }).observe(box, {attributes: true, childList: true, subtree: true});
    }""")
    import_file(page, exported.name, exported.read_bytes())
    done = page.locator(".import-ok")
    done.wait_for(timeout=30_000)
    assert re.search(rf"\b{len(doc['racks'])} racks?\b", done.inner_text())
    names = rack_names(api)
    assert f"Exported {tag}" in names and later["name"] not in names
    assert len(names) == len(doc["racks"])
    assert page.evaluate("window.sawProgress === true")
    assert page.locator(".import-progress").is_hidden()


def test_a_file_that_is_not_json_is_refused_before_asking(signed_in):
    page = signed_in
    page.goto("/#/transfer")
    page.get_by_label("Inventory file (JSON)").set_input_files(
        files=[{"name": "notes.json", "mimeType": "application/json", "buffer": b"{not json"}]
    )
    assert "This file is not JSON" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Import and replace…").is_disabled()


def test_users_add_change_role_reset_password_deactivate(signed_in, server, artifacts):
    page = signed_in
    page.expected_errors += ["401", "422"]
    base, api = server
    name = f"user-{secrets.token_hex(3)}"
    first, second = f"first-{secrets.token_hex(6)}", f"second-{secrets.token_hex(6)}"
    page.goto("/#/users")
    page.get_by_role("button", name="Add user").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Username").fill(name)
    dialog.get_by_label("Password").fill(first)
    dialog.get_by_label("Role").select_option("viewer")
    dialog.get_by_role("button", name="Add user").click()
    dialog.wait_for(state="detached")
    row = page.locator(".users-table tbody tr").filter(has_text=name)
    row.wait_for()
    stored = {u["username"]: u for u in api.get("/api/users?limit=500")["items"]}[name]
    assert (stored["role"], stored["active"]) == ("viewer", True)
    user_url = f"/api/users/{stored['id']}"

    page.get_by_label(f"Role of {name}").select_option("editor")
    page.get_by_text(f"{name} is now editor.").wait_for()
    assert api.get(user_url)["role"] == "editor"

    page.get_by_role("button", name=f"Reset password of {name}").click()
    dialog.get_by_label("New password").fill(second)
    dialog.get_by_role("button", name="Set password").click()
    page.get_by_text(f"The password of {name} is changed.").wait_for()
    ApiClient(base).sign_in(name, second)  # the new password works

    page.get_by_role("button", name=f"Deactivate {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate").click()
    row.get_by_text("Deactivated").wait_for()
    assert api.get(user_url)["active"] is False
    page.get_by_role("button", name=f"Reactivate {name}").wait_for()  # re-rendered row

    # The API's refusal as it words it: the only active admin cannot demote themself.
    admins = [u for u in api.get("/api/users?role=admin")["items"] if u["active"]]
    if len(admins) == 1:
        page.get_by_label("Role of admin", exact=True).select_option("viewer")
        page.get_by_role("dialog").get_by_role("button", name="Change my role").click()
        assert "last active admin" in page.get_by_role("alert").inner_text()
        assert page.get_by_label("Role of admin", exact=True).input_value() == "admin"
        assert api.get(f"/api/users/{admins[0]['id']}")["role"] == "admin"
    screenshot(page, artifacts, "users", phone=True)

    # Deactivated: signing in as them fails.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(second)
    page.get_by_role("button", name="Sign in").click()
    assert "wrong username or password" in page.get_by_role("alert").inner_text().lower()
    assert page.get_by_role("button", name="Sign out").count() == 0


def test_delete_a_user_and_a_non_admin_cannot_open_the_admin_pages(browser_page, server):
    page = browser_page
    _, api = server
    user = api.post(
        "/api/users",
        {"username": f"gone-{secrets.token_hex(3)}", "password": PASSWORD, "role": "viewer"},
    )
    sign_in(page, "admin")
    page.goto("/#/users")
    page.get_by_role("button", name=f"Delete {user['username']}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.get_by_text(f"{user['username']} is deleted.").wait_for()
    api.call("GET", f"/api/users/{user['id']}", expect=404)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "editor")
    page.goto("/#/users")
    page.get_by_text("This page needs the admin role.").wait_for()
    page.wait_for_url("**/#/racks")
