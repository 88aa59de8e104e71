#!/usr/bin/env python3
"""Closed-loop load against a HomeRack deployment, for proving updates lose no request.

    loadgen.py --url http://10.213.0.10 --user admin --password-file F [--clients 20]
               [--min-seconds 30] [--max-seconds 600] [--stop-file PATH] [--rate 10]

Each client keeps one HTTP/1.1 keep-alive connection (reconnecting when the server has
closed it, as browsers and urllib3 do) and loops over a mix
of reads and writes: list racks, read a rack, PATCH it, create a rack and delete it again,
read /api/health. It runs at least --min-seconds and stops once --stop-file exists (or at
--max-seconds). It prints one JSON summary: requests, failures (5xx, connection errors,
timeouts: each listed with its time), the slowest request, and the versions /api/health
reported in order. A request is sent again only where a browser would send it again (RFC
9112, 9.3.1): an idempotent one (GET, PUT, DELETE) whose reused keep-alive connection was
closed or reset before any byte of an answer came back, as happens when nginx reloads and
closes its idle connections while the request is on its way. It is sent once more on a new
connection and counted in stale_connection_retries; any other error is a failure.
Exit 0 always: the caller decides what counts as a pass. Standard library only, so it runs anywhere.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import select
import sys
import threading
import time
import urllib.parse

IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
# How a closed keep-alive connection shows when a request was already on its way.
STALE = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)


class Client:
    def __init__(self, url: str, host_header: str, timeout: float):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.host_header = host_header or parts.netloc
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.stale_retries = 0

    def request(
        self, method: str, path: str, token: str | None = None, body: dict | None = None
    ) -> tuple[int, bytes]:
        headers = {"Host": self.host_header, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.conn is not None and self.conn.sock is not None and self._dropped(self.conn.sock):
            self.close()  # the server closed the idle connection: reconnect, as browsers do
        reused = self.conn is not None
        try:
            return self._send(method, path, data, headers)
        except STALE:
            if not (reused and method in IDEMPOTENT):
                raise
        self.stale_retries += 1  # closed under the request: once more, as browsers do
        return self._send(method, path, data, headers)

    def _send(self, method: str, path: str, data: bytes | None, headers: dict) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            payload = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return resp.status, payload
        except Exception:
            self.close()
            raise

    @staticmethod
    def _dropped(sock) -> bool:
        # An idle keep-alive connection is readable only when the server closed it (EOF)
        # (urllib3's is_connection_dropped). A close racing with the next request is not
        # caught here and counts as a failure.
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.by_status: dict[str, int] = {}
        self.failures: list[dict] = []
        self.slowest = {"seconds": 0.0}
        self.versions: list[str] = []
        self.kept_racks: list[int] = []
        self.stale_retries = 0

    def record(
        self, started: float, method: str, path: str, outcome: str | int, elapsed: float, t0: float
    ) -> None:
        with self.lock:
            self.requests += 1
            key = str(outcome)
            self.by_status[key] = self.by_status.get(key, 0) + 1
            failed = not isinstance(outcome, int) or outcome >= 500
            if failed:
                self.failures.append(
                    {"at": round(started - t0, 3), "request": f"{method} {path}", "outcome": key}
                )
            if elapsed > self.slowest["seconds"]:
                self.slowest = {
                    "seconds": round(elapsed, 3),
                    "request": f"{method} {path}",
                    "at": round(started - t0, 3),
                }


def run_client(
    n: int, args, token: str, rack_ids: list[int], stats: Stats, t0: float, stop: threading.Event
) -> None:
    client = Client(args.url, args.host_header, args.timeout)
    rng = random.Random(n)  # noqa: S311 - a request mix, not a secret
    period = 1.0 / args.rate if args.rate > 0 else 0.0

    def call(method: str, path: str, body: dict | None = None, auth: bool = True):
        started = time.monotonic()
        try:
            status, payload = client.request(method, path, token if auth else None, body)
            outcome: str | int = status
        except TimeoutError:
            status, payload, outcome = 0, b"", "timeout"
        except (OSError, http.client.HTTPException) as exc:
            status, payload, outcome = 0, b"", f"connection error: {type(exc).__name__}"
        stats.record(started, method, path, outcome, time.monotonic() - started, t0)
        return status, payload

    i = 0
    while not stop.is_set():
        next_at = time.monotonic() + period
        rack = rng.choice(rack_ids)
        step = i % 10
        if step in (0, 3, 6):
            call("GET", "/api/racks?limit=20")
        elif step in (1, 4, 7):
            call("GET", f"/api/racks/{rack}")
        elif step == 2:
            call("PATCH", f"/api/racks/{rack}", {"location": f"client {n} step {i}"})
        elif step == 5:
            status, payload = call(
                "POST", "/api/racks", {"name": f"load {os.getpid()}-{n}-{i}", "u_height": 12}
            )
            if status == 201:
                new_id = json.loads(payload)["id"]
                if i % 50 == 5:
                    with stats.lock:
                        stats.kept_racks.append(new_id)  # data written during the update
                else:
                    call("DELETE", f"/api/racks/{new_id}")
        elif step == 8:
            status, payload = call("GET", "/api/health", auth=False)
            if status == 200:
                version = json.loads(payload).get("version", "?")
                with stats.lock:
                    if not stats.versions or stats.versions[-1] != version:
                        stats.versions.append(version)
        else:
            call("GET", "/api/devices?limit=20")
        i += 1
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
    client.close()
    with stats.lock:
        stats.stale_retries += client.stale_retries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="http://host[:port] of nginx")
    parser.add_argument("--host-header", default="", help="Host header (default: from --url)")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s per client")
    parser.add_argument("--min-seconds", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--stop-file", default="")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--racks", type=int, default=5, help="racks to create for the mix")
    args = parser.parse_args()

    setup = Client(args.url, args.host_header, args.timeout)
    with open(args.password_file) as f:
        password = f.read().strip()
    for _ in range(30):  # a login rate limit from earlier tests clears within a minute
        status, payload = setup.request(
            "POST", "/api/auth/login", body={"username": args.user, "password": password}
        )
        if status != 429:
            break
        time.sleep(3)
    if status != 200:
        print(f"login failed: {status} {payload[:200]!r}", file=sys.stderr)
        return 2
    token = json.loads(payload)["access_token"]
    rack_ids = []
    for n in range(args.racks):
        status, payload = setup.request(
            "POST", "/api/racks", token, {"name": f"loadgen base {os.getpid()}-{n}", "u_height": 42}
        )
        if status != 201:
            print(f"creating a rack failed: {status} {payload[:200]!r}", file=sys.stderr)
            return 2
        rack_ids.append(json.loads(payload)["id"])
    setup.close()

    stats, stop = Stats(), threading.Event()
    t0 = time.monotonic()
    threads = [
        threading.Thread(
            target=run_client, daemon=True, args=(n, args, token, rack_ids, stats, t0, stop)
        )
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    while True:
        elapsed = time.monotonic() - t0
        if elapsed >= args.max_seconds:
            break
        if elapsed >= args.min_seconds and args.stop_file and os.path.exists(args.stop_file):
            break
        if elapsed >= args.min_seconds and not args.stop_file:
            break
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(args.timeout + 5)
    duration = time.monotonic() - t0
    print(
        json.dumps(
            {
                "clients": args.clients,
                "seconds": round(duration, 1),
                "requests": stats.requests,
                "requests_per_second": round(stats.requests / duration, 1),
                "failures": len(stats.failures),
                "failure_samples": stats.failures[:20],
                # Idempotent requests resent: their keep-alive connection closed under them.
                "stale_connection_retries": stats.stale_retries,
                # Failure times, seconds after "started" (this machine's CLOCK_MONOTONIC): a caller
                # that stamps its own events with time.monotonic() can place them on the same axis.
                "started": round(t0, 3),
                "first_failure_at": min((f["at"] for f in stats.failures), default=None),
                "last_failure_at": max((f["at"] for f in stats.failures), default=None),
                "by_status": stats.by_status,
                "slowest": stats.slowest,
                "versions": stats.versions,
                "base_racks": rack_ids,
                "kept_racks": stats.kept_racks,
                "token": token,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
