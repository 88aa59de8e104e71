"""Cache, rate limits, fail-open, request ids and metrics against a real Redis."""

import asyncio
import dataclasses
import os
import socket
import threading
import time

import falcon.testing
import orjson
import pytest
import redis
from helpers import Api, png
from redis.exceptions import ResponseError

from homerack.api import racks as racks_api
from homerack.api.app import create_app
from homerack.cache import Cache, RateLimiter, connect
from homerack.cache import Redis as RedisLink
from homerack.config import parse_rate


async def decoded(cache, *args):
    """The cached value as the API's JSON decodes to (the cache hands out bytes)."""
    return orjson.loads(await cache.get_or_load_json(*args))


REDIS_URL = os.environ.get("HOMERACK_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"the test Redis at {REDIS_URL} is not running ({exc}); run `make services`")
    client.flushdb()
    yield client
    client.flushdb()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there any more


@pytest.fixture
def hung_redis():
    """A TCP server that accepts connections and never answers: a hung Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def app_with(config, **changes):
    return falcon.testing.ASGIConductor(create_app(dataclasses.replace(config, **changes)))


async def test_cache_hits_and_read_after_write(config, redis_db, lab):
    # `lab` was built through another app instance; this one caches.
    async with app_with(config, redis_url=REDIS_URL) as c:
        api = Api(c)
        path = f"/api/racks/{lab['rack']['id']}"
        before = (await api.get("/api/health/cache/stats")).json  # counters are per process
        first = (await api.get(path)).json
        assert (await api.get(path)).json == first
        stats = (await api.get("/api/health/cache/stats")).json
        assert (stats["hits"] - before["hits"], stats["misses"] - before["misses"]) == (1, 1)
        assert stats["keys"] >= 1 and stats["memory_bytes"] > 0
        assert list(redis_db.scan_iter("homerack:c:racks:*"))
        renamed = await api.patch(path, json={"name": "Renamed"})
        assert renamed.status_code == 200
        # ...but a write through the API is seen by the very next read.
        assert (await api.get(path)).json["name"] == "Renamed"
        assert "Renamed" in [r["name"] for r in (await api.get("/api/racks")).json["items"]]
        # A catalog write makes rack details stale too (they show brand names).
        brand = lab["brands"][1]
        await api.patch(f"/api/brands/{brand['id']}", json={"name": "Dell EMC"})
        devices = (await api.get(path)).json["devices"]
        assert {d["brand"] for d in devices} >= {"Dell EMC"}


async def test_cached_rack_reads_show_a_logo_change_at_once(config, redis_db, lab):
    """The elevation draws brand logos from the (cached) rack detail and device list:
    a logo upload or removal and a brand rename must reach them on the next read."""
    dell = lab["brands"][1]
    async with app_with(config, redis_url=REDIS_URL) as c:
        api = Api(c)
        rack, devices = f"/api/racks/{lab['rack']['id']}", "/api/devices"

        async def pve1() -> tuple:
            row = next(d for d in (await api.get(rack)).json["devices"] if d["name"] == "pve1")
            item = next(d for d in (await api.get(devices)).json["items"] if d["name"] == "pve1")
            assert (row["brand"], row["logo_url"]) == (item["brand"], item["logo_url"])
            return row["brand"], row["logo_url"]

        assert await pve1() == ("Dell", None)
        before = (await api.get("/api/health/cache/stats")).json
        assert await pve1() == ("Dell", None)
        stats = (await api.get("/api/health/cache/stats")).json
        assert stats["hits"] - before["hits"] == 2  # both reads came from the cache
        put = await api.put(
            f"/api/brands/{dell['id']}/logo", body=png(), headers={"Content-Type": "image/png"}
        )
        assert put.status_code == 200, put.text
        url = put.json["logo_url"]
        assert await pve1() == ("Dell", url)
        await api.patch(f"/api/brands/{dell['id']}", json={"name": "Dell EMC"})
        assert await pve1() == ("Dell EMC", url)
        assert (await api.delete(f"/api/brands/{dell['id']}/logo")).status_code == 200
        assert await pve1() == ("Dell EMC", None)


async def test_cache_is_bypassed_when_a_write_happens_outside(config, redis_db, lab):
    async with app_with(config, redis_url=REDIS_URL) as c:
        api = Api(c)
        path = f"/api/racks/{lab['rack']['id']}"
        await api.get(path)
    # Another app instance without Redis (another worker, the CLI) changes the rack;
    # the generation bump of a cached worker is what others rely on: prove it is
    # needed by bumping by hand, as every API write does.
    async with app_with(config) as c:
        await Api(c).patch(path, json={"notes": "changed"})
    async with app_with(config, redis_url=REDIS_URL) as c:
        api = Api(c)
        assert (await api.get(path)).json["notes"] == ""  # stale, from the cache
        redis_db.set("homerack:gen:racks", "moved-on")
        assert (await api.get(path)).json["notes"] == "changed"  # generation moved on


async def test_general_rate_limit_is_per_client_with_retry_after(config, redis_db):
    async with app_with(
        config, redis_url=REDIS_URL, rate_limit=parse_rate("t", "3/m burst 3")
    ) as c:
        api = Api(c)
        codes = [(await api.get("/api/racks")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = await api.get("/api/racks")
        assert int(refused.headers["retry-after"]) >= 1
        assert "rate limit" in refused.json["description"]
        # Another user has a bucket of their own; probes are never limited.
        other = await api.get("/api/racks", role="viewer")
        assert other.status_code == 200
        probes = [(await api.get("/api/health/ready")).status_code for _ in range(5)]
        assert probes == [200] * 5


async def login(api, username="alice", secret="wrong-password-123"):  # noqa: S107
    return await api.post(
        "/api/auth/login", role=None, json={"username": username, "password": secret}
    )


@pytest.mark.parametrize("where", ["redis", "no-redis"])
async def test_login_limit_per_username_and_address(config, redis_db, where):
    url = REDIS_URL if where == "redis" else closed_port_url()
    async with app_with(
        config, redis_url=url, login_rate_limit=parse_rate("t", "3/m burst 3")
    ) as c:
        api = Api(c)
        codes = [(await login(api)).status_code for _ in range(4)]
        # Without Redis the per-process fallback still stops guessing.
        assert codes == [401, 401, 401, 429]
        refused = await login(api)
        assert int(refused.headers["retry-after"]) >= 1


async def test_fail_open_when_redis_is_down(config, lab):
    async with app_with(
        config, redis_url=closed_port_url(), rate_limit=parse_rate("t", "2/m burst 2")
    ) as c:
        api = Api(c)
        # Cache and general limit are skipped: every read is served from the database.
        for _ in range(5):
            assert (await api.get(f"/api/racks/{lab['rack']['id']}")).status_code == 200
        ready = await api.get("/api/health/ready")
        assert ready.status_code == 200
        assert ready.json["status"] == "degraded"
        assert ready.json["checks"] == {"database": "ok", "redis": "degraded (unreachable)"}
        metrics = (await api.get("/metrics")).text
        assert errors_counted(metrics) > 0


def errors_counted(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("homerack_redis_errors_total")
    )


async def test_a_hung_redis_costs_milliseconds_not_a_minute(config, lab, hung_redis):
    async with app_with(config, redis_url=hung_redis) as c:
        api = Api(c)
        started = time.perf_counter()
        for _ in range(6):
            assert (await api.get(f"/api/racks/{lab['rack']['id']}")).status_code == 200
        # 250 ms timeout and one retry per call, then the breaker skips Redis: far
        # below redis-py's defaults (about a minute per call).
        assert time.perf_counter() - started < 10


async def test_request_id_is_echoed_or_made(api):
    given = await api.get("/api/health", headers={"X-Request-ID": "abc-123-def-456"})
    assert given.headers["x-request-id"] == "abc-123-def-456"
    for bad in ("x", "evil\r\nheader", "a" * 300, "<script>"):
        made = await api.get("/api/health", headers={"X-Request-ID": bad})
        assert made.headers["x-request-id"] != bad
        assert len(made.headers["x-request-id"]) == 32


async def test_metrics_use_route_templates(api, lab):
    await api.get(f"/api/racks/{lab['rack']['id']}")
    await api.get("/api/nowhere")
    text = (await api.get("/metrics", role=None)).text
    assert 'route="/api/racks/{id:int}"' in text
    assert f'/api/racks/{lab["rack"]["id"]}"' not in text  # never the raw path
    assert 'route="unmatched"' in text
    assert "homerack_build_info" in text
    assert "homerack_db_session_duration_seconds_bucket" in text


async def test_access_log_has_no_secrets(config, caplog):
    async with app_with(config, access_log=True) as c:
        api = Api(c)
        caplog.set_level("INFO", logger="homerack.access")
        await login(api, "bob", "hunter2-secret-password")
        await api.get("/api/racks?q=find-me")
    lines = [r for r in caplog.records if r.name == "homerack.access"]
    assert {r.route for r in lines} >= {"/api/auth/login", "/api/racks"}
    text = " ".join(r.getMessage() + str(vars(r)) for r in lines)
    assert "hunter2" not in text and "Bearer" not in text and "find-me" not in text


async def test_concurrent_misses_load_once(config, redis_db, lab):
    # Count (and slow down) the real unit of work behind GET /api/racks/{id}.
    calls = 0
    crud = racks_api.CRUD
    real = crud.get

    def counting(*args):
        nonlocal calls
        calls += 1
        time.sleep(0.05)
        return real(*args)

    object.__setattr__(crud, "get", counting)  # Crud is a frozen dataclass
    try:
        async with app_with(config, redis_url=REDIS_URL) as c:
            path = f"/api/racks/{lab['rack']['id']}"
            results = await asyncio.gather(*(Api(c).get(path) for _ in range(8)))
    finally:
        object.__setattr__(crud, "get", real)
    assert {r.status_code for r in results} == {200}
    assert calls == 1  # the stampede guard let one request load; the others waited


async def test_detailed_health_is_for_admins_or_trusted_networks(config):
    # The test client's address (127.0.0.1) is not trusted here.
    async with app_with(config, trusted_networks=("10.0.0.0/8",)) as c:
        api = Api(c)
        for path in ("/api/health/detailed", "/api/health/cache/stats"):
            assert (await api.get(path, role=None)).status_code == 403
            assert (await api.get(path, role="editor")).status_code == 403
            assert (await api.get(path, role="admin")).status_code == 200
        body = (await api.get("/api/health/detailed", role="admin")).json
        assert body["database"]["status"] == "ok" and body["pid"] > 0
        assert "secret" not in str(body).lower() and config.jwt_secret not in str(body)
    async with app_with(config) as c:  # default: loopback is trusted
        assert (await Api(c).get("/api/health/detailed", role=None)).status_code == 200


async def test_invalidation_ignores_an_open_breaker(redis_db):
    # Two workers' caches on the same Redis; A's breaker is open after a hiccup.
    a, b = Cache(RedisLink(connect(REDIS_URL)), 60), Cache(RedisLink(connect(REDIS_URL)), 60)
    try:

        async def old():
            return {"v": "old"}

        async def new():
            return {"v": "new"}

        assert await decoded(b, "ns", "k", old) == {"v": "old"}
        a.redis._open_until = time.monotonic() + 60
        await a.invalidate("ns")
        assert await decoded(b, "ns", "k", new) == {"v": "new"}
    finally:
        await a.redis.close()
        await b.redis.close()


async def test_a_failed_invalidation_stays_pending_and_bypasses_the_cache(redis_db):
    broken = Cache(RedisLink(connect(closed_port_url())), 60)
    loads = 0

    async def load():
        nonlocal loads
        loads += 1
        return loads

    await broken.invalidate("ns")
    assert broken._pending == {"ns"}
    assert [await decoded(broken, "ns", "k", load) for _ in range(2)] == [1, 2]
    await broken.redis.close()


async def test_free_text_searches_are_not_cached(config, redis_db, lab):
    async with app_with(config, redis_url=REDIS_URL) as c:
        api = Api(c)
        for q in ("main", "mai", "ma"):
            assert (await api.get("/api/racks", params={"q": q})).status_code == 200
        assert not list(redis_db.scan_iter("homerack:c:*"))
        await api.get("/api/racks")  # an unfiltered list is
        assert list(redis_db.scan_iter("homerack:c:racks:*"))


async def test_optimizer_queue_is_bounded(config, lab, held_optimizer):
    started, release = held_optimizer.started, held_optimizer.release
    # One process per worker: one run goes, three wait (the per-user cap is raised so
    # that the per-worker bound is what refuses).
    async with app_with(config, optimizer_per_user=10) as c:
        api = Api(c)
        path = f"/api/racks/{lab['rack']['id']}/optimize"
        queue = config.optimizer_queue
        queued = [asyncio.create_task(api.post(path, json={})) for _ in range(queue)]
        assert await asyncio.to_thread(started.acquire, True, 10)  # one runs, three wait
        await asyncio.sleep(0.2)
        busy = await api.post(path, json={})
        assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1
        release.set()
        assert [r.status_code for r in await asyncio.gather(*queued)] == [200] * queue


async def test_a_lost_generation_never_brings_back_stale_values(redis_db):
    """A generation that vanishes (evicted, flushed) and is recreated must not match a
    value stored under an earlier one: a counter restarts at 1, and served it."""
    cache = Cache(RedisLink(connect(REDIS_URL)), 60)

    def loader(value):
        async def load():
            return value

        return load

    try:
        await cache.invalidate("ns")  # the write of v1...
        assert await decoded(cache, "ns", "k", loader("v1")) == "v1"  # ...read, cached
        assert redis_db.delete("homerack:gen:ns") == 1  # lost
        await cache.invalidate("ns")  # the write of v2
        assert await decoded(cache, "ns", "k", loader("v2")) == "v2"
        redis_db.delete("homerack:gen:ns")  # lost again: the next read starts afresh
        assert await decoded(cache, "ns", "k", loader("v3")) == "v3"
        assert await decoded(cache, "ns", "k", loader("v4")) == "v3"  # and caches
    finally:
        await cache.redis.close()


async def test_only_pages_on_the_grid_with_items_are_cached(config, redis_db, lab):
    """Walking limit/offset combinations mints no cache keys: only the listed page sizes
    at offsets on their grid, and only pages that hold items, are stored."""
    async with app_with(config, redis_url=REDIS_URL) as c:
        api = Api(c)
        for limit, offset in ((7, 0), (50, 1), (50, 49), (499, 0), (50, 50), (200, 400)):
            page = await api.get("/api/devices", params={"limit": limit, "offset": offset})
            assert page.status_code == 200 and page.json["total"] == 2
        missing = await api.get("/api/devices", params={"rack_id": 999_999})
        assert missing.json["items"] == []
        assert not list(redis_db.scan_iter("homerack:c:*"))
        await api.get("/api/devices", params={"limit": 200, "offset": 0})
        assert len(list(redis_db.scan_iter("homerack:c:racks:*"))) == 1


async def test_rate_limit_state_prunes_itself_without_a_ttl(redis_db):
    """One sorted set per limit, without a TTL (never evicted under volatile-*), that
    drops each client once its bucket is full again."""
    limiter = RateLimiter(RedisLink(connect(REDIS_URL)))
    slow, fast = parse_rate("t", "1/h burst 2"), parse_rate("t", "100/s burst 2")
    try:
        assert await limiter.hit("api", "addr:slow", slow) == 0
        for client in range(50):  # each full again 10 ms after its hit
            assert await limiter.hit("api", f"addr:{client}", fast) == 0
        assert redis_db.ttl("homerack:rl:api") == -1
        await asyncio.sleep(0.05)
        assert await limiter.hit("api", "addr:new", fast) == 0
        assert redis_db.zrange("homerack:rl:api", 0, -1) == [b"addr:new", b"addr:slow"]
    finally:
        await limiter.redis.close()


async def test_a_hit_answers_the_bytes_a_miss_answers(config, redis_db, lab):
    """A hit answers the stored JSON as it is (never decoded and encoded again): the
    same bytes and headers as the miss that stored it, and as a server without cache."""
    paths = [
        f"/api/racks/{lab['rack']['id']}",
        "/api/racks",
        "/api/devices?limit=50",
        f"/api/devices/{lab['srv']['id']}",
        "/api/connections",
        "/api/device-types?limit=200",
        "/api/brands",
    ]
    async with app_with(config) as c:
        plain = [await Api(c).get(path) for path in paths]
    async with app_with(config, redis_url=REDIS_URL) as c:
        api = Api(c)
        before = (await api.get("/api/health/cache/stats")).json
        misses = [await api.get(path) for path in paths]
        hits = [await api.get(path) for path in paths]
        stats = (await api.get("/api/health/cache/stats")).json
    assert stats["hits"] - before["hits"] == len(paths)
    assert stats["misses"] - before["misses"] == len(paths)
    for path, p, miss, hit in zip(paths, plain, misses, hits, strict=True):
        assert hit.status_code == miss.status_code == p.status_code == 200, path
        assert hit.content == miss.content == p.content, path
        assert hit.headers["content-type"] == miss.headers["content-type"] == "application/json"
        assert hit.headers["content-length"] == str(len(p.content))


async def test_rate_limit_goes_over_the_link_and_loads_its_script(redis_db):
    """The GCRA script runs over the pipelined link (EVALSHA); a server without the
    script (restarted, SCRIPT FLUSH) answers NOSCRIPT and redis-py loads it."""
    limiter = RateLimiter(RedisLink(connect(REDIS_URL)))
    rate = parse_rate("t", "1/h burst 2")
    link = limiter.redis.link()
    assert link is not None
    sent = []
    real = link.command

    async def spy(*args, **kwargs):
        sent.append(args[0])
        return await real(*args, **kwargs)

    async def no_script(*args, **kwargs):
        sent.append(args[0])
        raise ResponseError("NOSCRIPT No matching script. Please use EVAL.")

    try:
        link.command = spy
        assert await limiter.hit("api", "addr:a", rate) == 0
        link.command = no_script
        assert await limiter.hit("api", "addr:a", rate) == 0  # through redis-py
        link.command = spy
        assert await limiter.hit("api", "addr:a", rate) > 0  # the burst of 2 is spent
        assert sent == ["EVALSHA"] * 3
        assert redis_db.zrange("homerack:rl:api", 0, -1) == [b"addr:a"]
    finally:
        await limiter.redis.close()
