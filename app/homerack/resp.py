"""A minimal pipelined Redis client (RESP2) for the hot paths: a cache hit's MGET and
the rate limiter's script.

redis-py's asyncio client spends ~60-100 us of CPU on every command (connection pool,
locks, timeout wrappers, health checks, event hooks, its parser): more than the rest of
a cached read. Here one connection per worker carries every caller's commands at once,
pipelined: each sends its command and waits for its reply, and the replies come back in
the order sent. A few microseconds a command.

It speaks only what those reads need (commands of strings, replies of bulk strings,
arrays, integers, simple strings and errors) and fails like the rest of the Redis use:
a reply later than ``timeout`` closes the connection and raises TimeoutError; a lost
connection raises ConnectionError to every command waiting on it (both redis-py's
exception classes, which ``cache.Redis.call`` counts and fails open on). The next
command connects again; a command that found its connection dead is sent once more on a
fresh one (a read: sending it twice cannot change anything), as redis-py's one retry.

Everything else (cache writes, locks, invalidations, TLS) stays on redis-py: ``link_of`` makes a
link only for the plain TCP and unix-socket connections of a redis-py client.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# redis-py connection settings this client honours; a client with any other non-default
# setting (a credential provider, a client name, RESP3...) keeps all its commands.
_KNOWN = frozenset(
    {
        "host",
        "port",
        "path",
        "db",
        "username",
        "password",
        "socket_timeout",
        "socket_connect_timeout",
        "himport_registry",
        "maint_notifications_pool_handler",
        "maint_notifications_config",
        "orig_host_address",
        "orig_socket_timeout",
        "orig_socket_connect_timeout",
        "retry",
        "health_check_interval",
    }
)


class LinkLost(RedisConnectionError):
    """The connection closed while the command was waiting (or before it was sent)."""


class _Incomplete(Exception):
    """The buffer ends inside a reply: wait for more data."""


def pack(args: tuple[str | bytes | float, ...]) -> bytes:
    """A command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def parse(buf: bytes, pos: int) -> tuple[Any, int]:
    """One reply at ``pos``: (value, position after it). Raises _Incomplete. An error
    reply's value is a ResponseError (not raised: it answers one command only)."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind = buf[pos]
    if kind == 36:  # $: bulk string, $-1 for nil
        size = int(buf[pos + 1 : end])
        if size < 0:
            return None, end + 2
        stop = end + 2 + size
        if len(buf) < stop + 2:
            raise _Incomplete
        return buf[end + 2 : stop], stop + 2
    if kind == 42:  # *: array, *-1 for nil
        size = int(buf[pos + 1 : end])
        if size < 0:
            return None, end + 2
        pos = end + 2
        items = []
        for _ in range(size):
            item, pos = parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == 43:  # +: simple string
        return buf[pos + 1 : end], end + 2
    if kind == 58:  # :: integer
        return int(buf[pos + 1 : end]), end + 2
    if kind == 45:  # -: error
        return ResponseError(buf[pos + 1 : end].decode(errors="replace")), end + 2
    raise ValueError(f"not a RESP2 reply: {bytes(buf[pos : pos + 16])!r}")


class _Pipe(asyncio.Protocol):
    """One connection: commands sent as they come, replies matched in order.

    The commands of one event-loop iteration go out in one write (under load, dozens of
    requests' reads in one system call instead of one each), and one timer watches the
    oldest command waiting: when it fires, the first command still waiting past its
    deadline fails the connection, else it is armed again for the new oldest."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buf = b""
        self._out: list[bytes] = []  # commands of this iteration, not written yet
        self._waiting: deque[tuple[asyncio.Future, float]] = deque()  # (reply, deadline)
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, command: bytes) -> asyncio.Future:
        if self.closed or self.transport is None:
            raise LinkLost("the connection to Redis is closed")
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        deadline = loop.time() + self.timeout
        self._waiting.append((reply, deadline))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._check)
        if not self._out:
            loop.call_soon(self._flush)
        self._out.append(command)
        return reply

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and not self.closed and self.transport is not None:
            self.transport.write(b"".join(out))

    def _check(self) -> None:
        self._timer = None
        if not self._waiting:
            return
        deadline = self._waiting[0][1]
        loop = asyncio.get_running_loop()
        if loop.time() >= deadline:
            self._fail(RedisTimeoutError("Redis did not answer in time"))
        else:
            self._timer = loop.call_at(deadline, self._check)

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        pos = 0
        try:
            while pos < len(buf):
                value, pos = parse(buf, pos)
                if not self._waiting:
                    raise ValueError("a reply nobody asked for")
                reply, _ = self._waiting.popleft()
                if reply.done():  # its caller was cancelled
                    continue
                if isinstance(value, ResponseError):
                    reply.set_exception(value)
                else:
                    reply.set_result(value)
        except _Incomplete:
            pass
        except ValueError as exc:  # out of step with the server: start afresh
            self._fail(LinkLost(f"unexpected data from Redis ({exc})"))
            return
        self._buf = buf[pos:] if pos else buf

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(LinkLost("the connection to Redis was lost"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        self._out = []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.close()
        while self._waiting:
            reply, _ = self._waiting.popleft()
            if not reply.done():
                reply.set_exception(error)

    def close(self) -> None:
        self._fail(LinkLost("the connection to Redis was closed"))


class Link:
    """The pipelined connection of one worker (event loop), opened on first use."""

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 6379,
        path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 0.25,
        connect_timeout: float | None = None,
    ):
        self.host, self.port, self.path = host, port, path
        self.db, self.username, self.password = db, username, password
        self.timeout = timeout
        self.connect_timeout = connect_timeout or timeout
        self._pipe: _Pipe | None = None
        self._lock: asyncio.Lock | None = None

    async def command(self, *args: str | bytes | float, idempotent: bool = True) -> Any:
        """Send one command and return its reply (raises ResponseError for an error).

        A command whose connection turned out dead is sent again on a fresh one: always
        when it had not been written, else only if ``idempotent`` (it may have run)."""
        command = pack(args)
        pipe = self._pipe
        if pipe is None or pipe.closed:
            return await (await self._connect()).send(command)
        try:
            reply = pipe.send(command)
        except LinkLost:  # closed since its last use (e.g. Redis restarted meanwhile)
            return await (await self._connect()).send(command)
        try:
            return await reply
        except LinkLost:
            if not idempotent:
                raise
            return await (await self._connect()).send(command)

    async def _connect(self) -> _Pipe:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._pipe is not None and not self._pipe.closed:
                return self._pipe  # another caller connected meanwhile
            loop = asyncio.get_running_loop()
            pipe = _Pipe(self.timeout)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    if self.path is not None:
                        await loop.create_unix_connection(lambda: pipe, self.path)
                    else:
                        await loop.create_connection(lambda: pipe, self.host, self.port)
            except TimeoutError:
                pipe.close()
                raise RedisTimeoutError("connecting to Redis timed out") from None
            hello = []
            if self.password is not None:
                auth = (self.username, self.password) if self.username else (self.password,)
                hello.append(pipe.send(pack(("AUTH", *auth))))
            if self.db:
                hello.append(pipe.send(pack(("SELECT", self.db))))
            try:
                for reply in hello:
                    await reply
            except BaseException:
                pipe.close()
                raise
            self._pipe = pipe
            return pipe

    def close(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None


def link_of(client) -> Link | None:
    """A Link to the server a redis-py asyncio client talks to, with its database,
    credentials and timeouts; None when the client's connection is one this module does
    not speak (TLS, or settings it does not know)."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return None
    kwargs = pool.connection_kwargs
    if any(k not in _KNOWN and v is not None for k, v in kwargs.items()):
        return None
    common = {
        "db": int(kwargs.get("db") or 0),
        "username": kwargs.get("username"),
        "password": kwargs.get("password"),
        "timeout": kwargs.get("socket_timeout") or 0.25,
        "connect_timeout": kwargs.get("socket_connect_timeout"),
    }
    if pool.connection_class is Connection:
        return Link(
            host=kwargs.get("host", "localhost"), port=int(kwargs.get("port", 6379)), **common
        )
    if pool.connection_class is UnixDomainSocketConnection:
        return Link(path=kwargs["path"], **common)
    return None
