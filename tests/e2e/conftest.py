"""End-to-end tests of the web UI: Debian's Chromium, driven by Playwright, against the real
app (Uvicorn) on a real PostgreSQL database and Redis.

The server runs with the deployment's per-client API limit (20 r/s, burst 40, the nginx
default), so a page that sends too many requests gets 429s, and every test fails on a 429,
on a browser console error (CSP violations included) or on a request rate above the
limit. Screenshots go to ``test-artifacts/e2e/`` (HOMERACK_E2E_ARTIFACTS), outside git.

Without Chromium (``apt install chromium``) or Playwright the tests are skipped locally;
under CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scratch_db import scratch_database

from e2e.helpers import API_BURST, API_RATE, PASSWORD, ApiClient, checked_page, sign_in

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HOMERACK_E2E_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("HOMERACK_E2E_ARTIFACTS", ROOT / "test-artifacts" / "e2e"))


def _unavailable(what: str):
    if os.environ.get("CI"):
        pytest.fail(f"{what}: CI must run the browser tests")
    pytest.skip(what)


# Package scope: Playwright's sync API keeps an event loop running in this thread, which
# the asyncio tests outside tests/e2e could not start under; it stops after the last test here.
@pytest.fixture(scope="package")
def playwright_browser():
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install --group test)")
    with sync_playwright() as pw:
        # The flags keep Chromium off the network it would otherwise call home to.
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def e2e_database(postgres_admin_dsn):
    with scratch_database(postgres_admin_dsn, "homerack_e2e") as url:
        yield url


@pytest.fixture(scope="session")
def server(e2e_database, tmp_path_factory):
    """The app on a fresh PostgreSQL database with the catalog, the demo homelab and three
    users (admin, editor, viewer; password PASSWORD). Yields (base URL, ApiClient as admin)."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {
        **os.environ,
        "HOMERACK_DATABASE_URL": e2e_database,
        # Its own Redis database: the API tests flush theirs.
        "HOMERACK_REDIS_URL": os.environ.get("HOMERACK_E2E_REDIS", "redis://127.0.0.1:6379/14"),
        "HOMERACK_JWT_SECRET": secrets.token_urlsafe(48),
        "HOMERACK_UPLOAD_DIR": str(tmp / "uploads"),
        "HOMERACK_DATA_DIR": str(tmp),
        "HOMERACK_RATE_LIMIT": f"{API_RATE}/s burst {API_BURST}",
        "HOMERACK_LOGIN_RATE_LIMIT": "60/m burst 30",
    }
    homerack = [sys.executable, "-m", "homerack.cli"]
    log_path = tmp / "server.log"
    proc = None
    try:
        subprocess.run([*homerack, "db", "upgrade"], env=env, check=True, capture_output=True)
        for role in ("admin", "editor", "viewer"):
            subprocess.run(
                [*homerack, "user", "add", role, "--role", role],
                env=env,
                check=True,
                input=PASSWORD.encode(),
                capture_output=True,
            )
        # The catalog and the demo homelab, as `make dev` shows them (the admin exists, so
        # the demo creates none).
        subprocess.run([*homerack, "demo"], env=env, check=True, capture_output=True)
        with open(log_path, "wb") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "homerack.asgi:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        client = ApiClient(base)
        deadline = time.monotonic() + 30
        while not client.ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        client.sign_in("admin", PASSWORD)
        yield base, client
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser_page(playwright_browser, server):
    """A checked page on the app (see checked_page)."""
    with checked_page(playwright_browser, server[0], 10_000) as page:
        yield page


@pytest.fixture
def signed_in(browser_page, server):
    """A page signed in as the admin, on the racks list."""
    sign_in(browser_page, "admin")
    return browser_page
