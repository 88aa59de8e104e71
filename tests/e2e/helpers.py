"""Helpers of the browser tests: an API client to arrange data, the rate check, a checked
page, signing in and screenshots."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

PASSWORD = "e2e-password-" + secrets.token_hex(4)
# The nginx default (roles/nginx/defaults/main.yml: nginx_api_rate, nginx_api_burst).
API_RATE, API_BURST = 20, 40
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


class ApiClient:
    """Arranges and checks data through the API, outside the browser. Paced to 10 r/s so
    the arranging never eats the browser's share of the rate limit (it has its own user
    anyway: the limit is per token subject)."""

    def __init__(self, base: str):
        self.base = base
        self.token = None
        self._last = 0.0

    def call(
        self,
        method: str,
        path: str,
        body=None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        expect: int | None = None,
    ):
        wait = self._last + 0.1 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, payload = err.code, err.read()
        if expect is not None:
            assert status == expect, f"{method} {path}: {status} {payload[:500]!r}"
        elif status >= 400:
            raise AssertionError(f"{method} {path}: {status} {payload[:500]!r}")
        return json.loads(payload) if payload and payload[:1] in (b"{", b"[") else payload

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body):
        return self.call("POST", path, body)

    def patch(self, path, body):
        return self.call("PATCH", path, body)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/api/health/ready", timeout=2) as resp:
                return resp.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def sign_in(self, username: str, password: str) -> None:
        self.token = self.post("/api/auth/login", {"username": username, "password": password})[
            "access_token"
        ]

    def device_type(self, model_part: str) -> dict:
        """A catalog device type whose model contains ``model_part``."""
        items = self.get(f"/api/device-types?q={urllib.parse.quote(model_part)}&limit=5")["items"]
        assert items, f"no device type like {model_part!r} in the catalog"
        return items[0]


class RateCheck:
    """nginx's limit_req (leaky bucket: ``rate`` per second, ``burst`` excess) replayed on
    the times the page sent its /api/ requests, plus every 429 it got."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.excess = 0.0
        self.peak = 0.0
        self.last: float | None = None
        self.count = 0
        self.refused: list[str] = []

    def request(self, url: str) -> None:
        if "/api/" not in url:
            return
        now = time.monotonic()
        if self.last is not None:
            self.excess = max(0.0, self.excess - self.rate * (now - self.last))
            self.excess += 1
        self.last = now
        self.count += 1
        self.peak = max(self.peak, self.excess)

    def response(self, url: str, status: int) -> None:
        if status == 429:
            self.refused.append(url)

    def assert_within_limit(self) -> None:
        assert not self.refused, f"the page was rate limited (429): {self.refused}"
        assert self.peak <= self.burst, (
            f"{self.count} API requests reached an excess of {self.peak:.1f} over "
            f"{self.rate} r/s; nginx refuses above {self.burst}"
        )


@contextlib.contextmanager
def checked_page(browser, base_url: str, timeout_ms: int):
    """A fresh browser context (desktop size) on ``base_url``, checked when it closes: no
    console errors (but those in ``page.expected_errors``), no 429, no burst above the
    API limit."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    check = RateCheck(API_RATE, API_BURST)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("request", lambda req: check.request(req.url))
    page.on("response", lambda resp: check.response(resp.url, resp.status))
    page.expected_errors = []  # tests add substrings of console errors they provoke
    yield page
    context.close()
    unexpected = [e for e in errors if not any(s in e for s in page.expected_errors)]
    assert not unexpected, f"browser console errors: {unexpected}"
    check.assert_within_limit()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def screenshot(page, artifacts: Path, name: str, phone: bool = False) -> Path:
    """A full-page screenshot at desktop size, and at phone size with ``phone``."""
    path = artifacts / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    if phone:
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(200)
        page.screenshot(path=artifacts / f"{name}-phone.png", full_page=True)
        page.set_viewport_size(size)
    return path
