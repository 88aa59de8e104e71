"""Redis: the per-worker client, the read cache and the rate limiter. All fail open.

Redis only makes HomeRack faster and fairer; the database stays the truth. So every
Redis call has short timeouts and at most one retry (redis-py's defaults made one GET
to a hung Redis take ~58 s), errors are counted and swallowed, and after a few
consecutive errors a small circuit breaker skips Redis for a while so requests do not
each pay the timeout.

Memory: Redis runs with ``maxmemory`` and a ``volatile-*`` eviction policy (roles/redis),
which evicts only keys with a TTL. Cached values and loader locks have one and may be
evicted at any time; what must survive a flood of cached reads has none: the cache
generations and the rate limiter's state (one sorted set per limit that prunes itself
instead of expiring). Both are small and bounded (a few namespaces; the clients seen
within one burst window), so the cache can fill memory without pushing them out.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import orjson
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

from . import resp
from .metrics import CACHE, RATE_LIMITED, REDIS_ERRORS

if TYPE_CHECKING:  # the optimizer children import this module: keep pydantic out of them
    from redis.commands.core import AsyncScript

    from .config import Rate

log = logging.getLogger("homerack.redis")

TIMEOUT_S = 0.25
BREAKER_ERRORS = 3  # consecutive errors that open the breaker...
BREAKER_OPEN_S = 5.0  # ...for this long
PREFIX = "homerack:"


def connect(url: str) -> aioredis.Redis:
    return aioredis.from_url(
        url,
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
        max_connections=64,
    )


class Redis:
    """A Redis client that never raises: ``call`` returns ``default`` on any failure.

    ``read`` sends a read command over the worker's pipelined link (``resp.Link``, a few
    microseconds instead of redis-py's ~80) when the client's connection allows one."""

    def __init__(self, client: aioredis.Redis | None):
        self.client = client
        self._errors = 0
        self._open_until = 0.0
        self._link: resp.Link | None = None
        self._link_of: aioredis.Redis | None = None  # the client the link was made for

    @property
    def available(self) -> bool:
        return self.client is not None and time.monotonic() >= self._open_until

    async def call(
        self, op: str, fn: Callable[[aioredis.Redis], Awaitable[Any]], default: Any = None
    ) -> Any:
        if not self.available or self.client is None:
            if self.client is not None:
                REDIS_ERRORS.labels(op).inc()  # skipped by the open breaker
            return default
        try:
            result = await fn(self.client)
        except (TimeoutError, RedisError, OSError) as exc:
            REDIS_ERRORS.labels(op).inc()
            self._errors += 1
            if self._errors >= BREAKER_ERRORS:
                self._open_until = time.monotonic() + BREAKER_OPEN_S
                self._errors = 0
                log.warning(
                    "redis unavailable (%s: %s); skipping it for %.0f s",
                    op,
                    exc.__class__.__name__,
                    BREAKER_OPEN_S,
                )
            return default
        self._errors = 0
        return result

    def link(self) -> resp.Link | None:
        """The pipelined connection to the client's server, if it speaks the client's."""
        client = self.client
        if client is not None and self._link_of is not client:
            if self._link is not None:
                self._link.close()
            self._link, self._link_of = resp.link_of(client), client
        return self._link

    async def read(self, op: str, *command: str) -> Any:
        """A read command's reply (``read("cache_get", "MGET", a, b)``), as ``call``."""
        link = self.link()
        if link is None:
            return await self.call(op, lambda r: r.execute_command(*command))
        return await self.call(op, lambda r: link.command(*command))

    async def ping(self) -> float | None:
        """Round trip in ms, or None. Ignores the breaker: health must see recovery."""
        if self.client is None:
            return None
        started = time.perf_counter()
        try:
            await self.client.ping()
        except (TimeoutError, RedisError, OSError):
            return None
        self._open_until = 0.0
        return (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = self._link_of = None
        if self.client is not None:
            await self.client.aclose()


class Cache:
    """Cache-aside for hot reads, invalidated by per-namespace generation counters.

    A value is stored with the generation read *before* it was loaded; a write replaces
    the generation after its commit. A reader that loaded old data concurrently with a
    write therefore stores it under the old generation, and every later read, which
    sees the new generation, misses: a read after a write always sees the write.
    Generations are random tokens, never counters: a counter that vanished (a flush, an
    eviction under a wrong policy, a restart) would start again at values that old
    entries still carry, and serve them after a write. A missing generation is set anew,
    to a token no stored value has.
    One MGET (generation + value) per hit, answered as the stored JSON bytes; a short
    lock keeps a burst of misses on one key from all hitting the database (stampede
    guard); TTLs get ±10 % jitter.
    """

    LOCK_MS = 2000  # a loader that dies frees the key after this long
    WAIT_STEPS = 50  # others poll for its value for up to 1 s, then load it themselves
    WAIT_S = 0.02

    def __init__(self, redis: Redis, ttl_seconds: int):
        self.redis = redis
        self.ttl = ttl_seconds
        self._pending: set[str] = set()  # namespaces whose invalidation has not reached Redis
        self._counters: dict[tuple[str, str], Any] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.redis.client is not None

    async def get_or_load_json(
        self,
        namespace: str,
        key: str,
        load: Callable[[], Awaitable[Any]],
        keep: Callable[[Any], bool] | None = None,
    ) -> bytes:
        """The JSON document (``json_bytes``) of the cached value, else of ``load()``'s,
        stored unless ``keep`` refuses the value.

        A hit is one MGET and the stored bytes as they are: never decoded, so the API
        answers them unchanged (the bytes a miss stores are the bytes it answers)."""
        if self._pending and self.redis.available:
            await self._bump_pending()
        if not self.enabled or namespace in self._pending:
            return json_bytes(await load())
        gen_key, value_key = f"{PREFIX}gen:{namespace}", f"{PREFIX}c:{namespace}:{key}"
        got = await self.redis.read("cache_get", "MGET", gen_key, value_key)
        if got is None:
            self._count(namespace, "error")
            return json_bytes(await load())
        gen = got[0]
        if gen is None:  # first use, or lost: a fresh token orphans every stored value
            gen = await self.redis.call("cache_gen", lambda r: _new_generation(r, gen_key))
            if gen is None:
                self._count(namespace, "error")
                return json_bytes(await load())
        body = _unpack(got[1], gen)
        if body is not None:
            self._count(namespace, "hit")
            return body
        self._count(namespace, "miss")
        lock_key = f"{PREFIX}lock:{namespace}:{key}"
        won = await self.redis.call(
            "cache_lock", lambda r: r.set(lock_key, 1, nx=True, px=self.LOCK_MS)
        )
        if won is None:  # someone else is loading it: wait for their value, briefly
            for _ in range(self.WAIT_STEPS):
                await asyncio.sleep(self.WAIT_S)
                raw = await self.redis.read("cache_get", "GET", value_key)
                body = _unpack(raw, gen)
                if body is not None:
                    return body
        value = await load()
        body = json_bytes(value)
        ttl_ms = int(self.ttl * 1000 * random.uniform(0.9, 1.1))  # noqa: S311 - jitter only
        stored = keep is None or keep(value)

        async def store(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=False) as pipe:
                if stored:  # always with a TTL: evictable under the volatile-* policy
                    pipe.set(value_key, gen + b"|" + body, px=ttl_ms)
                pipe.delete(lock_key)
                await pipe.execute()

        await self.redis.call("cache_set", store)
        return body

    def _count(self, namespace: str, result: str) -> None:
        # The labelled child, looked up once per namespace and result (labels() takes a
        # lock and builds a key on every call).
        child = self._counters.get((namespace, result))
        if child is None:
            child = self._counters[namespace, result] = CACHE.labels(namespace, result)
        child.inc()

    async def invalidate(self, *namespaces: str) -> None:
        """Call after the write committed. Not subject to the circuit breaker: a skipped
        bump would let every other worker serve the old data until the TTL. A bump that
        fails stays pending; this worker retries it before its next cache read and,
        until it succeeds, reads those namespaces from the database."""
        if not self.enabled or not namespaces:
            return
        self._pending.update(namespaces)
        await self._bump_pending()

    async def _bump_pending(self) -> None:
        client = self.redis.client
        if client is None:  # no Redis: nothing is cached, so nothing to bump
            return
        names = sorted(self._pending)

        async def bump(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=False) as pipe:
                for ns in names:  # no TTL: never evicted under a volatile-* policy
                    pipe.set(f"{PREFIX}gen:{ns}", _token())
                await pipe.execute()

        try:
            await bump(client)
        except (TimeoutError, RedisError, OSError) as exc:
            REDIS_ERRORS.labels("cache_invalidate").inc()
            log.error(
                "could not invalidate the cache of %s (%s); other workers may serve "
                "it stale for up to %d s",
                ", ".join(names),
                exc.__class__.__name__,
                self.ttl,
            )
            return
        self._pending.difference_update(names)

    async def stats(self) -> dict:
        """Hits and misses of this worker's process, keys and memory of the Redis."""
        counts = {
            r: sum(
                s.value
                for m in CACHE.collect()
                for s in m.samples
                if s.name.endswith("_total") and s.labels.get("result") == r
            )
            for r in ("hit", "miss", "error")
        }
        looked = counts["hit"] + counts["miss"]
        info = await self.redis.call("cache_stats", lambda r: r.info("memory")) or {}
        keys = await self.redis.call("cache_stats", lambda r: r.dbsize())
        return {
            "enabled": self.enabled,
            "ttl_seconds": self.ttl,
            "hits": int(counts["hit"]),
            "misses": int(counts["miss"]),
            "errors": int(counts["error"]),
            "hit_rate": round(counts["hit"] / looked, 4) if looked else None,
            "keys": keys,
            "memory_bytes": info.get("used_memory"),
            "scope": "hits and misses of this worker process",
        }


def json_bytes(value: Any) -> bytes:
    """The JSON document of a response body: the API's encoder (Falcon's media handler
    uses it too), so a cached body and a freshly encoded one are the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _unpack(raw: bytes | None, gen: bytes) -> bytes | None:
    """The JSON body of a stored ``<generation>|<json>`` value, if stored under ``gen``."""
    if not raw:
        return None
    stored_gen, _, body = raw.partition(b"|")
    return body if stored_gen == gen else None


def _token() -> bytes:
    return secrets.token_hex(8).encode()


async def _new_generation(r: aioredis.Redis, gen_key: str) -> bytes | None:
    await r.set(gen_key, _token(), nx=True)  # NX: a concurrent reader's or writer's wins
    # bytes: the client is made without decode_responses (redis-py types it str | bytes).
    return cast(bytes | None, await r.get(gen_key))


# GCRA in one round trip. KEYS[1] is a sorted set per limit: member = client, score = its
# theoretical arrival time (TAT) in ms. A client whose TAT has passed has its whole burst
# back, exactly as if it had no entry, so each call first drops those: the set holds only
# the clients seen within one burst window and needs no TTL, which keeps it out of reach
# of a volatile-* eviction. Redis's own clock keeps workers and hosts consistent.
_GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local tat = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[3]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then return allow_at - now end
redis.call('ZADD', KEYS[1], new_tat, ARGV[3])
return 0
"""


class LocalGcra:
    """The same limit in one process: the fallback for login limits when Redis is down."""

    def __init__(self, max_keys: int = 10_000):
        self._tat: OrderedDict[str, float] = OrderedDict()
        self.max_keys = max_keys

    def hit(self, key: str, rate: Rate) -> float:
        now = time.monotonic()
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + rate.interval
        allow_at = new_tat - rate.interval * rate.burst
        if now < allow_at:
            return allow_at - now
        self._tat[key] = new_tat
        self._tat.move_to_end(key)
        while len(self._tat) > self.max_keys:
            self._tat.popitem(last=False)
        return 0.0


class RateLimiter:
    """GCRA limits in Redis. ``hit`` returns 0 when allowed, else seconds to wait.

    When Redis is down the general limit fails open (requests still served), while
    limits created with ``strict=True`` (login) fall back to a per-process limit.
    """

    def __init__(self, redis: Redis):
        self.redis = redis
        self.local = LocalGcra()
        # Registered on first use: the client may be attached later.
        self._script: AsyncScript | None = None

    async def hit(self, name: str, key: str, rate: Rate, *, strict: bool = False) -> float:
        bucket = f"{PREFIX}rl:{name}"
        wait_ms = None
        if self._script is None and self.redis.client is not None:
            self._script = self.redis.client.register_script(_GCRA)
        if (script := self._script) is not None:
            args = (rate.interval * 1000, rate.interval * 1000 * rate.burst, key)
            link = self.redis.link()

            async def gcra(r: aioredis.Redis) -> Any:
                # Over the pipelined link (redis-py costs more than the rest of a cached
                # read); redis-py loads the script when the server does not have it.
                if link is not None:
                    try:
                        return await link.command(
                            "EVALSHA", script.sha, 1, bucket, *args, idempotent=False
                        )
                    except ResponseError as exc:
                        if not str(exc).startswith("NOSCRIPT"):
                            raise
                return await script(keys=[bucket], client=r, args=list(args))

            wait_ms = await self.redis.call("ratelimit", gcra)
        if wait_ms is not None:
            wait = float(wait_ms) / 1000
        elif strict:
            wait = self.local.hit(f"{bucket}:{key}", rate)
        else:
            wait = 0.0
        if wait > 0:
            RATE_LIMITED.labels(name).inc()
        return wait
