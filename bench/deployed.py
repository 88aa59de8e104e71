"""The deployed mode of bench/http.py: a running HomeRack through its nginx (the lab or any
host the operator names), with the bench's dataset and wrk, in one run.

Prints figures only; it is never a test gate. What it does, in order:

1. logs in (POST /api/auth/login) for a bearer token;
2. loads the bench's homelab (10 racks, 400 devices, 600 cables: the dataset of the local
   mode, every name prefixed "bench-") through the ordinary create routes, or reuses a
   complete copy that an earlier ``--keep`` run left. Never through POST /api/import: an
   import replaces the whole inventory, and an operator's real data must never be
   touched. A 429 while loading is waited out (Retry-After), so it works with the rate
   limits on;
3. drives each endpoint with wrk (64 connections, 10 s each): a static file nginx serves
   from disk, GET /api/health/live, the cached reads and the uncached device page, and
   counts the answers by status (429s apart);
4. prints req/s, p50, p99 and their ratios to GET /api/health/live;
5. deletes what it created (only "bench-" records, and none that the operator's own data
   depends on) unless ``--keep``.

See docs/performance.md for what each row measures and how to read the ratios.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import ssl
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from harness import inventory

PREFIX = "bench-"  # every record the bench creates is named so; cleanup deletes only those
CABLE_LABEL = "bench"
PAGE = 500  # the API's largest page

# wrk script: the same prepared request every time (no request() hook), the answers
# counted by status per thread, and a JSON summary line with p50/p99 in ms.
LUA = r"""
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
init = function(args)
  statuses = {}
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %d, "seconds": %.3f, "socket_errors": %d, ' ..
    '"statuses": {%s}, "p50": %.3f, "p99": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ", "), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


class BenchError(SystemExit):
    pass


class Client:
    """Keep-alive JSON client of one host; waits out 429s (Retry-After) and counts them."""

    def __init__(self, base: str, insecure: bool = False):
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BenchError(f"--url must be http://host[:port] or https://...: {base!r}")
        self.scheme, self.netloc, self.root = parts.scheme, parts.netloc, parts.path.rstrip("/")
        self.insecure = insecure
        self.token: str | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.limited = 0  # 429 answers waited out
        self.waited = 0.0  # seconds spent waiting them out

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.scheme == "https":
                ctx = ssl.create_default_context()
                if self.insecure:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                self.conn = http.client.HTTPSConnection(self.netloc, timeout=120, context=ctx)
            else:
                self.conn = http.client.HTTPConnection(self.netloc, timeout=120)
        return self.conn

    def send(self, method: str, path: str, body=None, auth: bool = True) -> tuple[int, bytes]:
        """(status, body) of the first answer that is not a 429."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        retried = False
        while True:
            conn = self._connection()
            try:
                conn.request(method, self.root + path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                self.conn = None
                # A keep-alive connection the server closed: safe to resend a read or a
                # delete once; a create might have happened, so it is an error.
                if retried or method == "POST":
                    raise BenchError(f"{method} {path}: {exc!r}") from None
                retried = True
                continue
            if resp.status != 429:
                return resp.status, raw
            wait = float(resp.getheader("Retry-After") or 1)
            self.limited += 1
            self.waited += wait
            time.sleep(wait)

    def json(self, method: str, path: str, body=None, ok=(200, 201)):
        status, raw = self.send(method, path, body)
        if status not in ok:
            raise BenchError(
                f"{method} {path}: HTTP {status}: {raw[:300].decode(errors='replace')}"
            )
        return json.loads(raw) if raw else None

    def all(self, path: str, **params) -> list[dict]:
        """Every item of a list route, page by page."""
        items: list[dict] = []
        while True:
            query = urlencode({**params, "limit": PAGE, "offset": len(items)})
            page = self.json("GET", f"{path}?{query}")["items"]
            items += page
            if len(page) < PAGE:
                return items

    def login(self, user: str, password: str) -> None:
        status, raw = self.send(
            "POST", "/api/auth/login", {"username": user, "password": password}, auth=False
        )
        if status != 200:
            raise BenchError(f"login as {user!r} failed: HTTP {status}: {raw[:200]!r}")
        self.token = json.loads(raw)["access_token"]


# -- the dataset ---------------------------------------------------------------------------


def bench_inventory() -> dict:
    """The local mode's homelab (same seed), with every name prefixed PREFIX."""
    doc = inventory(random.Random(7))
    p = PREFIX
    for brand in doc["brands"]:
        brand["name"] = p + brand["name"]
    for dtype in doc["device_types"]:
        dtype["brand"] = p + dtype["brand"]
    for rack in doc["racks"]:
        rack["name"] = p + rack["name"]
    for dev in doc["devices"]:
        dev["name"], dev["brand"], dev["rack"] = p + dev["name"], p + dev["brand"], p + dev["rack"]
    for cable in doc["connections"]:
        cable["device_a"], cable["device_b"] = p + cable["device_a"], p + cable["device_b"]
    return doc


@dataclass
class Found:
    """The "bench-" records on the host."""

    brands: dict[str, int] = field(default_factory=dict)  # name -> id
    types: dict[tuple[str, str], int] = field(default_factory=dict)  # (brand, model) -> id
    racks: dict[str, int] = field(default_factory=dict)
    devices: dict[str, dict] = field(default_factory=dict)  # name -> list item
    cables: dict[int, dict] = field(default_factory=dict)  # id -> list item

    def empty(self) -> bool:
        return not (self.brands or self.types or self.racks or self.devices)

    def complete(self, doc: dict) -> bool:
        """Exactly the dataset: every record, placed as it should be, no stray cable."""
        bench_ids = {d["id"] for d in self.devices.values()}
        return (
            set(self.brands) == {b["name"] for b in doc["brands"]}
            and set(self.types) == {(t["brand"], t["model"]) for t in doc["device_types"]}
            and set(self.racks) == {r["name"] for r in doc["racks"]}
            and set(self.devices) == {d["name"] for d in doc["devices"]}
            and all(
                self.devices[d["name"]]["rack_id"] == self.racks[d["rack"]]
                and self.devices[d["name"]]["position_u"] == d["position_u"]
                for d in doc["devices"]
            )
            and len(self.cables) == len(doc["connections"])
            and all({c["device_a_id"], c["device_b_id"]} <= bench_ids for c in self.cables.values())
        )


def discover(client: Client) -> Found:
    found = Found()
    for brand in client.all("/api/brands", q=PREFIX):
        if brand["name"].startswith(PREFIX):
            found.brands[brand["name"]] = brand["id"]
    for name, brand_id in found.brands.items():
        for dtype in client.all("/api/device-types", brand_id=brand_id):
            found.types[(name, dtype["model"])] = dtype["id"]
    for rack in client.all("/api/racks", q=PREFIX):
        if rack["name"].startswith(PREFIX):
            found.racks[rack["name"]] = rack["id"]
    for dev in client.all("/api/devices", q=PREFIX):
        if dev["name"].startswith(PREFIX):
            found.devices[dev["name"]] = dev
    # Cables with an end in a bench rack, or at a bench device elsewhere (none normally).
    racks = set(found.racks.values())
    for rack_id in racks:
        for cable in client.all("/api/connections", rack_id=rack_id):
            found.cables[cable["id"]] = cable
    for dev in found.devices.values():
        if dev["rack_id"] not in racks:
            for cable in client.all("/api/connections", device_id=dev["id"]):
                found.cables[cable["id"]] = cable
    return found


def create(client: Client, doc: dict) -> None:
    """The dataset through the create routes (never POST /api/import: it replaces the
    whole inventory)."""
    brands = {
        b["name"]: client.json("POST", "/api/brands", {"name": b["name"]})["id"]
        for b in doc["brands"]
    }
    types = {}
    for t in doc["device_types"]:
        body = {k: v for k, v in t.items() if k != "brand"} | {"brand_id": brands[t["brand"]]}
        types[(t["brand"], t["model"])] = client.json("POST", "/api/device-types", body)["id"]
    racks = {r["name"]: client.json("POST", "/api/racks", r)["id"] for r in doc["racks"]}
    devices = {}
    for i, d in enumerate(doc["devices"], 1):
        body = {
            "name": d["name"],
            "device_type_id": types[(d["brand"], d["model"])],
            "rack_id": racks[d["rack"]],
            "position_u": d["position_u"],
            "access_frequency": d["access_frequency"],
        }
        devices[d["name"]] = client.json("POST", "/api/devices", body)["id"]
        if i % 100 == 0:
            print(f"  {i} devices", flush=True)
    for i, c in enumerate(doc["connections"], 1):
        body = {
            "device_a_id": devices[c["device_a"]],
            "device_b_id": devices[c["device_b"]],
            "cable_type": c["cable_type"],
            "count": c["count"],
            "label": CABLE_LABEL,
        }
        client.json("POST", "/api/connections", body)
        if i % 200 == 0:
            print(f"  {i} cables", flush=True)


def cleanup(client: Client, found: Found) -> list[str]:
    """Delete the "bench-" records; keep any that the operator's own data hangs on (a
    cable to one of their devices, their device in a bench rack or of a bench model).
    Returns what was kept, and why."""
    kept = []
    bench_ids = {d["id"] for d in found.devices.values()}
    tied = set()  # bench devices cabled to a device of the operator's
    for cable in found.cables.values():
        ends = {cable["device_a_id"], cable["device_b_id"]}
        if not ends <= bench_ids:
            tied |= ends & bench_ids
    for name, dev in sorted(found.devices.items()):
        if dev["id"] in tied:
            kept.append(f"device {name!r}: cabled to a device that is not the bench's")
            continue
        # Deleting a device deletes its cables, all between bench devices here.
        status, _ = client.send("DELETE", f"/api/devices/{dev['id']}")
        if status not in (204, 404):
            kept.append(f"device {name!r}: DELETE answered {status}")
    for (brand, model), type_id in sorted(found.types.items()):
        status, _ = client.send("DELETE", f"/api/device-types/{type_id}")
        if status not in (204, 404):  # 409: a device that is not the bench's uses it
            kept.append(f"device type {brand!r} {model!r}: DELETE answered {status}")
    for name, brand_id in sorted(found.brands.items()):
        status, _ = client.send("DELETE", f"/api/brands/{brand_id}")
        if status not in (204, 404):
            kept.append(f"brand {name!r}: DELETE answered {status}")
    for name, rack_id in sorted(found.racks.items()):
        status, _ = client.send("DELETE", f"/api/racks/{rack_id}")
        if status not in (204, 404):  # 409: it holds a device that is not the bench's
            kept.append(f"rack {name!r}: DELETE answered {status}")
    return kept


def report_cleanup(client: Client, found: Found) -> None:
    n = len(found.devices) + len(found.types) + len(found.brands) + len(found.racks)
    kept = cleanup(client, found)
    print(f"cleanup: {n - len(kept)} bench records deleted (cables with their devices)")
    for line in kept:
        print(f"  kept {line}")


# -- wrk -------------------------------------------------------------------------------------


def wrk(url: str, token: str, args, script: Path) -> dict:
    script.write_text(
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        'wrk.headers["Accept"] = "application/json"\n' + LUA
    )
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s"]
    command += ["--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["rps"] = result["requests"] / result["seconds"]
    statuses = {int(k): v for k, v in result["statuses"].items()}
    result["429"] = statuses.get(429, 0)
    result["other"] = sum(v for k, v in statuses.items() if not 200 <= k < 300 and k != 429)
    return result


def static_path(client: Client) -> str:
    """A small file nginx serves from the release's www directory: the UI's icon (its
    /assets/<digest>/ URL read from index.html), else index.html itself."""
    status, raw = client.send("GET", "/index.html", auth=False)
    html = raw.decode(errors="replace") if status == 200 else ""
    match = re.search(r'"(/assets/[^"]*/icon\.svg)"', html) or re.search(r'"(/assets/[^"]+)"', html)
    return match.group(1) if match else "/index.html"


def run(args) -> None:
    password = os.environ.get("HOMERACK_BENCH_PASSWORD")
    if args.password_file:
        password = Path(args.password_file).read_text().strip()
    if not password:
        raise BenchError("give --password-file (or HOMERACK_BENCH_PASSWORD) with --url")
    client = Client(args.url, args.insecure)
    client.login(args.user, password)
    doc = bench_inventory()

    found = discover(client)
    if args.cleanup:
        report_cleanup(client, found)
        return
    started = time.monotonic()
    if found.complete(doc):
        print(f"dataset: reusing the {len(found.racks)} bench racks already on {args.url}")
    else:
        if not found.empty():
            print("dataset: an incomplete bench dataset is on the host; removing it first")
            report_cleanup(client, found)
        print(
            f"dataset: creating {len(doc['racks'])} racks, {len(doc['devices'])} devices, "
            f"{len(doc['connections'])} cables (names prefixed {PREFIX!r})",
            flush=True,
        )
    try:
        if not found.complete(doc):
            create(client, doc)
            found = discover(client)
            if not found.complete(doc):
                raise BenchError("the bench dataset is not complete after loading it")
            limited = ""
            if client.limited:
                limited = f", {client.limited} times rate limited (waited {client.waited:.0f} s)"
            print(f"  loaded in {time.monotonic() - started:.0f} s{limited}")
        measure(client, args, found)
    finally:
        if args.keep:
            print(f"--keep: the bench dataset stays on the host ({PREFIX}* records)")
        else:
            report_cleanup(client, discover(client))


def measure(client: Client, args, found: Found) -> None:
    rack = found.racks[PREFIX + "Rack 0"]
    static = args.static_path or static_path(client)
    plan = [
        ("static file, nginx alone (the UI's icon)", static),
        ("no dependency: GET /api/health/live", "/api/health/live"),
        ("cached GET /api/racks/{id} (40 devices)", f"/api/racks/{rack}"),
        ("cached GET /api/devices?limit=50", "/api/devices?limit=50"),
        # An offset off the page grid is never cached (api/common.py): the same page of
        # 50 from PostgreSQL on every request.
        ("uncached GET /api/devices?limit=50&offset=1", "/api/devices?limit=50&offset=1"),
    ]
    # One request each first: it fills the cache, and a failing route stops the run here.
    for label, path in plan:
        status, raw = client.send("GET", path)
        if status != 200:
            raise BenchError(f"{label}: HTTP {status}: {raw[:200]!r}")
    base = args.url.rstrip("/")
    results: dict[str, list[dict]] = {label: [] for label, _ in plan}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for label, path in plan:
                assert client.token
                before = cache_counts(args.metrics_command)
                result = wrk(base + path, client.token, args, Path(tmp) / "b.lua")
                after = cache_counts(args.metrics_command)
                if before is not None and after is not None:
                    result["cache"] = {k: after[k] - before[k] for k in after}
                results[label].append(result)
                print(f"  done: {label}" + (f" (round {round_ + 1})" if args.rounds > 1 else ""))
    rows = [(label, combine(results[label])) for label, _ in plan]
    print_table(rows, args)
    print(f"static file: GET {static}")


CACHE_LINE = re.compile(r'^homerack_cache_requests_total\{[^}]*result="(\w+)"[^}]*\} (\S+)$')


def cache_counts(command: str | None) -> dict[str, float] | None:
    """The app's read-cache lookups so far by result (hit, miss, error), summed over the
    namespaces, from its Prometheus text that ``command`` prints; None without one."""
    if not command:
        return None
    out = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)  # noqa: S602 - the operator's own command
    if out.returncode != 0:
        print(f"  --metrics-command failed ({out.returncode}): {out.stderr.strip()[:200]}")
        return None
    counts = {"hit": 0.0, "miss": 0.0, "error": 0.0}
    for line in out.stdout.splitlines():
        match = CACHE_LINE.match(line)
        if match and match.group(1) in counts:
            counts[match.group(1)] += float(match.group(2))
    return counts


def combine(runs: list[dict]) -> dict:
    """Medians over the rounds; answers by status and cache lookups summed."""
    out = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
    for k in ("429", "other", "socket_errors", "requests"):
        out[k] = sum(r[k] for r in runs)
    if all("cache" in r for r in runs):
        out["cache"] = {k: sum(r["cache"][k] for r in runs) for k in ("hit", "miss", "error")}
    return out


def print_table(rows: list[tuple[str, dict]], args) -> None:
    live = next(r for label, r in rows if "health/live" in label)
    print(
        f"\n{args.url}: wrk {args.threads} threads, {args.connections} connections, "
        f"{args.seconds} s per endpoint, {args.rounds} round(s) (medians); "
        f"this machine has {os.cpu_count()} CPUs\n"
    )
    cache = all("cache" in r for _, r in rows)
    head = (
        f"{'endpoint':<52} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s÷live':>10} {'p99÷live':>9} {'429':>7} {'non-2xx':>8} {'sock err':>8}"
    )
    print(head + (f" {'cache hit':>9} {'miss':>6} {'error':>6}" if cache else ""))
    for label, r in rows:
        line = (
            f"{label:<52} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
            f"{r['rps'] / live['rps']:>10.2f} {r['p99'] / live['p99']:>9.2f} "
            f"{r['429']:>7} {r['other']:>8} {r['socket_errors']:>8}"
        )
        if cache:
            c = r["cache"]
            line += f" {c['hit']:>9.0f} {c['miss']:>6.0f} {c['error']:>6.0f}"
        print(line)
    limited = [label for label, r in rows if r["429"]]
    if limited:
        print(
            f"\nWARNING: {len(limited)} endpoint(s) answered 429: the host's rate limits are on,"
            " so those figures measure the limiter, not HomeRack. Turn them off for a bench"
            " run (docs/performance.md) and run again."
        )
    if cache and any(r["cache"]["error"] for _, r in rows):
        print(
            "\nWARNING: cache lookups failed during the run (Redis answered later than the"
            " app's 0.25 s timeout; after 3 in a row a worker skips Redis for 5 s): part of"
            " the 'cached' requests read PostgreSQL."
        )
    if any(r["other"] or r["socket_errors"] for _, r in rows):
        print("\nWARNING: some requests failed (non-2xx other than 429, or socket errors).")
