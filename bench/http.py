"""Load benchmark of the real stack: Gunicorn + uvicorn workers, PostgreSQL, Redis.

Prints figures only; it is never a test gate. It creates a throwaway database, loads a
homelab of 10 racks, 400 devices and 600 cables through POST /api/import, then drives
each endpoint with wrk (64 connections) in one run, so the ratios between endpoints
hold even on a noisy machine. Uncached reads come from a second server started with
the cache off (HOMERACK_CACHE_TTL_SECONDS=0). Rate limits are off: this measures
capacity, not policy.

    apt-get install wrk                  # the load generator (Debian package)
    make services                        # PostgreSQL and Redis, as for the tests
    .venv/bin/python bench/http.py [--seconds 10] [--connections 64] [--workers 2]

With --url it benchmarks a deployed HomeRack through its nginx instead (the lab, or any
host): the same dataset, created through the API with names prefixed "bench-" and deleted
afterwards, and a static file nginx serves alone in the same run (bench/deployed.py,
docs/performance.md):

    .venv/bin/python bench/http.py --url http://127.0.0.1:8088 --user admin \
        --password-file inventory/credentials/lab/admin-password
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file would shadow the standard library's `http` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile

sys.path.append(str(Path(__file__).resolve().parent))  # after the standard library
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from harness import REDIS_URL, SECRET, Server, call, inventory, scratch_database

from homerack import security
from homerack.storage import users
from homerack.storage.database import open_database, upgrade

# wrk script: the request to send, and a JSON summary line with p50/p95/p99 in ms.
LUA = r"""
local thread_id = 0
local n = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
request = function()
  if BODY == nil then return wrk.format(METHOD, PATH) end
  n = n + 1
  return wrk.format(METHOD, PATH, nil, string.gsub(BODY, "{n}", tid .. "-" .. n))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %d, "seconds": %.3f, "socket_errors": %d, "non_2xx": %d, ' ..
    '"p50": %.2f, "p95": %.2f, "p99": %.2f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def wrk(
    base: str,
    token: str,
    method: str,
    path: str,
    body: str | None,
    seconds: int,
    connections: int,
    script_dir: Path,
) -> dict:
    script = script_dir / "bench.lua"
    lua = [
        f"METHOD = {json.dumps(method)}",
        f"PATH = {json.dumps(path)}",
        f"BODY = {json.dumps(body) if body else 'nil'}",
        f'wrk.headers["Authorization"] = "Bearer {token}"',
        'wrk.headers["Content-Type"] = "application/json"',
        LUA,
    ]
    script.write_text("\n".join(lua))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    deployed_mode = ap.add_argument_group("a deployed host (bench/deployed.py)")
    deployed_mode.add_argument(
        "--url", help="the host's nginx, e.g. http://127.0.0.1:8088 (the lab); no local servers"
    )
    deployed_mode.add_argument("--user", default="admin", help="an admin (default: admin)")
    deployed_mode.add_argument(
        "--password-file", help="its password (else the HOMERACK_BENCH_PASSWORD variable)"
    )
    deployed_mode.add_argument(
        "--keep", action="store_true", help="leave the bench- dataset on the host for a rerun"
    )
    deployed_mode.add_argument(
        "--cleanup", action="store_true", help="only delete the bench- dataset, measure nothing"
    )
    deployed_mode.add_argument("--rounds", type=int, default=1, help="runs of the plan (medians)")
    deployed_mode.add_argument("--threads", type=int, default=2, help="wrk threads")
    deployed_mode.add_argument("--static-path", help="the static file (default: the UI's icon)")
    deployed_mode.add_argument(
        "--insecure", action="store_true", help="https: accept a self-signed certificate"
    )
    deployed_mode.add_argument(
        "--metrics-command",
        help="a shell command printing the app's /metrics, to count its cache hits and errors "
        "per row, e.g. 'docker exec homerack-lab curl -s 127.0.0.1:8081/metrics' (the lab)",
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None and not args.cleanup:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if args.url:
        import deployed

        deployed.run(args)
        return

    with scratch_database() as url:
        run(url, args)


def run(url: str, args) -> None:
    upgrade(url)
    subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True)
    # Tokens are checked against their user: user 1 must exist, as an admin.
    db = open_database(url)
    users.create_first_admin(db, "bench")
    db.disconnect()
    token = security.issue_token(SECRET, 1, "bench", "admin", 3600)
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # One admin drives the optimizer: its per-user cap would refuse most runs.
        cached = Server(url, args.workers, True, tmp, env={"HOMERACK_OPTIMIZER_PER_USER": "64"})
        try:
            counts = call(cached.base, "POST", "/api/import", token, inventory(random.Random(7)))[
                "imported"
            ]
            print(f"dataset: {counts}", flush=True)
            racks = call(cached.base, "GET", "/api/racks?limit=50", token)["items"]
            rack = racks[0]["id"]
            types = call(cached.base, "GET", "/api/device-types?limit=1", token)["items"]
            create = json.dumps({"name": "bench-{n}", "device_type_id": types[0]["id"]})
            optimize = json.dumps({"time_limit_ms": 100})
            plan = [
                ("no dependency: GET /api/health/live", "GET", "/api/health/live", None),
                ("cached GET /api/racks/{id}", "GET", f"/api/racks/{rack}", None),
                ("cached GET /api/devices?limit=50", "GET", "/api/devices?limit=50", None),
                ("POST /api/devices (create)", "POST", "/api/devices", create),
                (
                    "POST /api/racks/{id}/optimize (40 devices, 100 ms)",
                    "POST",
                    f"/api/racks/{rack}/optimize",
                    optimize,
                ),
            ]
            for label, method, path, body in plan:
                rows.append(
                    (
                        label,
                        wrk(
                            cached.base,
                            token,
                            method,
                            path,
                            body,
                            args.seconds,
                            args.connections,
                            tmp,
                        ),
                    )
                )
                print(f"  done: {label}", flush=True)
        finally:
            cached.stop()
        uncached = Server(url, args.workers, False, tmp)
        try:
            for label, path in (
                ("uncached GET /api/racks/{id}", f"/api/racks/{rack}"),
                ("uncached GET /api/devices?limit=50", "/api/devices?limit=50"),
            ):
                rows.append(
                    (
                        label,
                        wrk(
                            uncached.base,
                            token,
                            "GET",
                            path,
                            None,
                            args.seconds,
                            args.connections,
                            tmp,
                        ),
                    )
                )
                print(f"  done: {label}", flush=True)
        finally:
            uncached.stop()

    print(
        f"\n{args.workers} workers, {args.connections} connections, {args.seconds} s each, "
        f"{os.cpu_count()} CPUs (PostgreSQL, Redis and wrk on the same machine)\n"
    )
    print(f"{'endpoint':<52} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for label, r in rows:
        errors = r["socket_errors"] + r["non_2xx"]
        print(
            f"{label:<52} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
            f"{r['p99']:>8.1f} {errors:>7}"
        )


if __name__ == "__main__":
    main()
