"""CPU- and decode-heavy work, kept away from the worker's event loop and DB threads.

* :class:`OptimizerPool`: optimizer runs in child processes (``forkserver``: no
  inherited sockets or threads, cheap forks of a preloaded optimizer), so a 10 s run
  shares no GIL with the event loop. Each child has a memory cap (``RLIMIT_AS``) and a
  lower priority (``nice``); a run past its time limit plus a margin is abandoned and
  its child killed and replaced, as is a child that died. Runs are capped per user
  (in Redis, across workers and hosts; per worker when Redis is down) and per worker.
* :class:`BoundedThreads`: a small thread pool with a bounded queue (logo decoding),
  so uploads never wait on, or hold, the database threads.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import resource
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

import falcon

from ..cache import PREFIX, Redis
from ..metrics import OPTIMIZER_IN_PROGRESS, OPTIMIZER_RUNS

if TYPE_CHECKING:  # the optimizer children import this module: keep pydantic out of them
    from ..config import Config

log = logging.getLogger("homerack")

MB = 1024 * 1024
CHILD_NICE = 10  # the event loops (nice 0) win the CPU over an optimizer run
DEADLINE_MARGIN_S = 5.0  # the optimizer keeps its own time limit; past this it is stuck
QUEUE_WAIT_S = 20.0  # longest wait for a free process (below the proxy's timeout)
RETRY_AFTER_S = 2


def _limit_child(memory_mb: int) -> None:
    """Pool initializer, run in each child before any work: cap its address space (a
    large allocation raises MemoryError instead of growing the service's cgroup) and
    lower its priority."""
    limit = memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.nice(CHILD_NICE)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # No preload: Python 3.11's fork server ignores the parent's sys.path, so it could
    # import another checkout's homerack; each child imports it once, with the right path.
    ctx.set_forkserver_preload([])
    return ctx


def busy(what: str) -> falcon.HTTPServiceUnavailable:
    return falcon.HTTPServiceUnavailable(
        title="Busy", description=f"{what}; retry shortly", retry_after=RETRY_AFTER_S
    )


# Per-user slots: a sorted set of run ids scored by their expiry (Redis's clock), so a
# slot whose worker died frees itself when its run could no longer be going on.
_ACQUIRE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then return n end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return -1
"""


class UserSlots:
    """At most ``cap`` concurrent runs per user. Redis holds the count across workers;
    when Redis is unavailable the worker's own count decides (fail open, per worker)."""

    def __init__(self, redis: Redis, cap: int):
        self.redis = redis
        self.cap = cap
        self.local: Counter[str] = Counter()
        self._script = redis.client.register_script(_ACQUIRE) if redis.client else None

    async def acquire(self, user: str, ttl_s: float) -> tuple[str | None, int]:
        """(a slot id, 0), or (None, the user's runs) when they already have ``cap``."""
        slot = uuid.uuid4().hex
        key = f"{PREFIX}optimizer:user:{user}"
        held = None
        if (script := self._script) is not None:
            held = await self.redis.call(
                "optimizer_slot",
                lambda r: script(keys=[key], args=[self.cap, int(ttl_s * 1000), slot], client=r),
            )
        if held is None:  # no Redis: this worker's runs only
            held = self.local[user] if self.local[user] >= self.cap else -1
        if int(held) >= 0:
            return None, int(held)
        self.local[user] += 1
        return slot, 0

    async def release(self, user: str, slot: str) -> None:
        self.local[user] -= 1
        if self.local[user] <= 0:
            del self.local[user]
        if self._script is not None:  # a failed release expires with the slot's TTL
            await self.redis.call(
                "optimizer_slot", lambda r: r.zrem(f"{PREFIX}optimizer:user:{user}", slot)
            )


class OptimizerPool:
    """``processes`` single-process executors: a run takes a free one, so an abandoned
    or dead child is killed and replaced without touching the others' runs."""

    def __init__(self, config: Config):
        self.config = config
        self.pending = 0  # runs accepted by this worker: running or waiting
        self.running = 0
        self.slots: UserSlots | None = None
        self._free: asyncio.Queue[ProcessPoolExecutor | None] | None = None
        self._all: list[ProcessPoolExecutor] = []

    def start(self, redis: Redis) -> None:
        """In the lifespan startup. Executors and their children start on first use: a
        worker that never optimizes holds no semaphores (which a SIGKILLed worker would
        leave behind) and no processes."""
        self.slots = UserSlots(redis, self.config.optimizer_per_user)
        self._ctx = _context()
        self._free = asyncio.Queue()
        for _ in range(self.config.optimizer_processes):
            self._free.put_nowait(None)

    def _new_executor(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=self._ctx,
            initializer=_limit_child,
            initargs=(self.config.optimizer_memory_mb,),
        )
        self._all.append(executor)
        return executor

    def pids(self) -> list[int]:
        """The children's pids (``_processes``: the executor has no public accessor
        before Python 3.14's ``kill_workers``)."""
        return sorted(pid for ex in self._all for pid in (ex._processes or {}))

    def _replace(self, executor: ProcessPoolExecutor) -> ProcessPoolExecutor:
        for process in list((executor._processes or {}).values()):
            process.kill()  # SIGKILL: a run stuck in C code ignores anything gentler
        executor.shutdown(wait=False, cancel_futures=True)
        self._all.remove(executor)
        return self._new_executor()

    async def close(self) -> None:
        """In the lifespan shutdown, after in-flight requests finished."""
        executors, self._all = self._all, []
        for executor in executors:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)

    # Both exist from process_startup on (they need the worker's event loop and Redis).
    def _slots(self) -> UserSlots:
        if self.slots is None:
            raise RuntimeError("the optimizer pool is used before process_startup")
        return self.slots

    def _queue(self) -> asyncio.Queue[ProcessPoolExecutor | None]:
        if self._free is None:
            raise RuntimeError("the optimizer pool is used before process_startup")
        return self._free

    async def run(self, user: str, time_limit_ms: int, fn, *args):
        """``fn(*args)`` in a child; its arguments and result must pickle (plain data)."""
        deadline_s = time_limit_ms / 1000 * 1.5 + DEADLINE_MARGIN_S
        if self.pending >= self.config.optimizer_queue:
            OPTIMIZER_RUNS.labels("busy").inc()
            raise busy("the optimizer is busy with other runs")
        self.pending += 1
        slot = None
        try:
            slots = self._slots()
            slot, n = await slots.acquire(user, QUEUE_WAIT_S + deadline_s)
            if slot is None:
                OPTIMIZER_RUNS.labels("user_limit").inc()
                raise falcon.HTTPTooManyRequests(
                    title="Too many optimizations",
                    description=f"you already have {n} optimization{'s' * (n != 1)} running "
                    f"(at most {slots.cap} at a time); retry when "
                    f"{'it' if n == 1 else 'one'} has finished",
                    retry_after=max(1, math.ceil(time_limit_ms / 1000)),
                )
            return await self._run(deadline_s, fn, args)
        finally:
            self.pending -= 1
            if slot is not None:
                await self._slots().release(user, slot)

    async def _run(self, deadline_s: float, fn, args):
        with OPTIMIZER_IN_PROGRESS.labels("queued").track_inprogress():
            try:
                executor = await asyncio.wait_for(self._queue().get(), QUEUE_WAIT_S)
            except TimeoutError:
                OPTIMIZER_RUNS.labels("busy").inc()
                raise busy("the optimizer is busy with other runs") from None
        executor = executor or self._new_executor()
        future = None
        try:
            with OPTIMIZER_IN_PROGRESS.labels("running").track_inprogress():
                self.running += 1
                started = time.monotonic()
                try:
                    future = executor.submit(fn, *args)
                except BrokenProcessPool:  # its child died while idle
                    executor = self._replace(executor)
                    future = executor.submit(fn, *args)
                return await asyncio.wait_for(asyncio.wrap_future(future), deadline_s)
        except TimeoutError:
            log.warning(
                "optimizer run abandoned after %.1f s; its process is replaced",
                time.monotonic() - started,
            )
            OPTIMIZER_RUNS.labels("timeout").inc()
            executor = self._replace(executor)
            raise busy("the optimization ran past its time limit and was stopped") from None
        except BrokenProcessPool:
            log.warning("an optimizer process died (killed, or out of memory); replacing it")
            OPTIMIZER_RUNS.labels("died").inc()
            executor = self._replace(executor)
            raise busy(
                "the optimizer process stopped unexpectedly (it may have run out of memory)"
            ) from None
        except MemoryError:
            OPTIMIZER_RUNS.labels("out_of_memory").inc()
            executor = self._replace(executor)  # a child that hit its limit starts afresh
            raise falcon.HTTPUnprocessableEntity(
                title="Too large to optimize",
                description=f"this optimization needs more than the optimizer's "
                f"{self.config.optimizer_memory_mb} MB of memory; use fewer "
                f"devices or cables",
            ) from None
        except BaseException:
            if future is not None and not future.done():  # cancelled: stop the child too
                executor = self._replace(executor)
            raise
        finally:
            self.running -= 1
            self._queue().put_nowait(executor)


class BoundedThreads:
    """A thread pool that refuses work (503 Busy) beyond ``threads + queue`` tasks."""

    def __init__(self, name: str, threads: int, queue: int, what: str):
        self.name, self.threads, self.limit, self.what = name, threads, threads + queue, what
        self.pending = 0
        self.executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=self.threads, thread_name_prefix=f"homerack-{self.name}"
        )

    async def close(self) -> None:
        if self.executor is not None:
            await asyncio.to_thread(self.executor.shutdown, True)
            self.executor = None

    async def run(self, fn, *args):
        if self.pending >= self.limit:
            raise busy(f"the server is busy with other {self.what}")
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            self.pending -= 1
