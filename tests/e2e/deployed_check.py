"""The web UI on a deployed host, through its nginx: Molecule's verify runs this file
(not part of the plain test run: it needs a deployment) with

    HOMERACK_E2E_URL=http://<host>:<port> HOMERACK_E2E_USER=admin HOMERACK_E2E_PASSWORD=...
    HOMERACK_E2E_RACK=<name of a rack on that host> pytest tests/e2e/deployed_check.py

It proves what only the deployment can: nginx's CSP header, cache headers and rate limit
let the page work (no console error, no 429), from the release's built assets.
"""

from __future__ import annotations

import os

import pytest

from e2e.helpers import checked_page, sign_in

URL = os.environ.get("HOMERACK_E2E_URL", "")


@pytest.fixture
def deployed_page(playwright_browser):
    if not URL:
        pytest.fail("HOMERACK_E2E_URL is not set: this check runs against a deployed host")
    with checked_page(playwright_browser, URL, 15_000) as page:
        yield page


def test_the_deployed_ui_signs_in_and_shows_the_rack(deployed_page):
    page = deployed_page
    index = page.goto("/")
    headers = index.headers
    assert "script-src 'self'" in headers.get("content-security-policy", ""), headers
    assert headers.get("cache-control") == "no-cache"
    assets = []
    page.on("response", lambda r: assets.append(r) if "/assets/" in r.url else None)
    sign_in(page, os.environ.get("HOMERACK_E2E_USER", "admin"), os.environ["HOMERACK_E2E_PASSWORD"])
    rack = os.environ["HOMERACK_E2E_RACK"]
    page.get_by_role("link", name=rack).first.click()
    page.get_by_role("heading", name=rack).first.wait_for()
    # Views load as modules after sign-in: every one from the release, cached for good.
    assert assets and all(
        r.status == 200 and "immutable" in r.headers.get("cache-control", "") for r in assets
    )
