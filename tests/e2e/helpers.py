"""Helpers of the browser tests: an API client to arrange data, and the rate check."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request


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
