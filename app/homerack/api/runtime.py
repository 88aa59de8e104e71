"""Per-worker resources, created in the ASGI lifespan (after Gunicorn forks)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .. import storage
from ..cache import Cache, RateLimiter, Redis, connect
from ..config import Config
from ..metrics import DB_SESSION, WORKERS
from ..storage.database import Database, open_database
from .auth import Tokens
from .common import EVERY_NAMESPACE
from .compute import BoundedThreads, OptimizerPool

log = logging.getLogger("homerack")
# Logo decoding: up to ~200 MB and a second of CPU each, so few at a time per worker.
DECODE_THREADS, DECODE_QUEUE = 2, 4


class Runtime:
    """The worker's database, its dedicated, bounded DB thread pool, and its Redis.

    Pony sessions are thread-bound and synchronous, so every unit of work runs on
    this pool. Each pool thread keeps one connection: a worker holds at most
    ``db_pool_size`` database connections. The Redis client (cache, rate limits) is
    optional and every use of it fails open.

    The app factory hands each resource the parts it uses (``run``, ``cache``,
    ``tokens``, ...); only the health probes look at the runtime as a whole.
    """

    def __init__(self, config: Config):
        self.config = config
        self.db: Database | None = None
        self.executor: ThreadPoolExecutor | None = None
        # CPU-bound work stays off the DB threads: the optimizer in child processes
        # (no shared GIL with the event loop), image decoding on threads of its own.
        self.optimizer = OptimizerPool(config)
        self.decoder = BoundedThreads("decode", DECODE_THREADS, DECODE_QUEUE, "image uploads")
        self._threads = 0
        self._queued = 0  # units of work submitted to the DB pool and not yet started
        self._lock = threading.Lock()
        self.started_at: float | None = None
        # Created once, so the resources can hold them; the Redis client is attached in
        # the lifespan startup (without one, every use fails open).
        self.redis = Redis(None)
        self.cache = Cache(self.redis, config.cache_ttl_seconds)
        self.limiter = RateLimiter(self.redis)
        self.tokens = Tokens(
            self.run,
            secret=config.jwt_secret,
            ttl_seconds=config.jwt_ttl_seconds,
            check_seconds=config.token_check_seconds,
        )

    def _count_thread(self) -> None:
        with self._lock:
            self._threads += 1

    def pool_stats(self) -> dict:
        """The DB pool: its configured size, the threads started so far, the units of work
        waiting for a thread."""
        return {
            "pool_size": self.config.db_pool_size,
            "pool_threads": self._threads,
            "queued": self._queued if self.executor else None,
        }

    async def process_startup(self, scope, event) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=self.config.db_pool_size,
            thread_name_prefix="homerack-db",
            initializer=self._count_thread,
        )
        self.decoder.start()
        loop = asyncio.get_running_loop()
        db = await loop.run_in_executor(self.executor, open_database, self.config.database_url)
        log.info("database ready (%s)", db.provider_name)
        self.db = db
        if self.config.redis_url:
            # Created here, inside the worker's event loop (after Gunicorn's fork).
            self.redis.client = connect(self.config.redis_url)
            if await self.redis.ping() is None:
                log.warning("redis is not reachable; serving without cache (fail open)")
        self.optimizer.start(self.redis)
        self.started_at = time.time()
        WORKERS.set(1)

    async def process_shutdown(self, scope, event) -> None:
        await self.redis.close()
        await self.optimizer.close()
        await self.decoder.close()
        if self.executor is None:
            return
        if (db := self.db) is not None:
            # One disconnect per pool thread: the barrier keeps each task on its own thread.
            barrier = threading.Barrier(self._threads)

            def disconnect() -> None:
                barrier.wait(timeout=5)
                db.disconnect()

            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(loop.run_in_executor(self.executor, disconnect) for _ in range(self._threads)),
                return_exceptions=True,
            )
        self.executor.shutdown(wait=True)
        self.executor = None

    async def run(self, fn, *args, **kwargs):
        """Run a storage unit of work on the DB pool and return its plain result.

        A lost connection is replaced and the unit run once more where that is safe
        (``storage.call``); what still fails raises DatabaseUnavailable (503). A write
        that may have been saved before its connection died makes every cached read
        stale: its own invalidation would never run."""
        ctx = contextvars.copy_context()  # run_in_executor does not copy contextvars
        call = functools.partial(ctx.run, storage.call, fn, self.db, *args, **kwargs)
        try:
            with DB_SESSION.labels(getattr(fn, "__name__", "other")).time():
                return await self._submit(call)
        except storage.DatabaseUnavailable as exc:
            if exc.maybe_committed:
                await self.cache.invalidate(*EVERY_NAMESPACE)
            raise

    async def offload(self, fn, *args):
        """Run blocking non-DB work (decoding an import document) off the event loop."""
        return await self._submit(functools.partial(fn, *args))

    async def _submit(self, call):
        """``call()`` on the DB pool, counted as queued until a thread takes it (or the
        caller gives up waiting)."""
        waiting = [True]

        def leave() -> None:
            with self._lock:
                if waiting[0]:
                    waiting[0] = False
                    self._queued -= 1

        def started():
            leave()
            return call()

        with self._lock:
            self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, started)
        finally:
            leave()
