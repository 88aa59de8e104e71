"""The pipelined Redis link of the cache's hot reads (homerack.resp), against the test
Redis and against a scripted fake server."""

import asyncio
import os

import pytest
import redis
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from homerack import resp
from homerack.cache import Redis, connect

REDIS_URL = os.environ.get("HOMERACK_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def test_parse_every_reply_kind_and_incomplete_ones():
    assert resp.parse(b"$3\r\nabc\r\n", 0) == (b"abc", 9)
    assert resp.parse(b"$-1\r\n", 0) == (None, 5)
    assert resp.parse(b"*2\r\n$1\r\na\r\n$-1\r\n", 0) == ([b"a", None], 16)
    assert resp.parse(b"+OK\r\n", 0) == (b"OK", 5)
    assert resp.parse(b":42\r\n", 0) == (42, 5)
    error, _ = resp.parse(b"-ERR wrong\r\n", 0)
    assert isinstance(error, ResponseError) and str(error) == "ERR wrong"
    whole = b"*2\r\n$5\r\nhello\r\n$3\r\na|b\r\n"
    for cut in range(len(whole)):  # every prefix is incomplete, never misread
        with pytest.raises(resp._Incomplete):
            resp.parse(whole[:cut], 0)
    # A value may hold CRLF: its length decides, not the delimiter.
    assert resp.parse(b"$4\r\n\r\n\r\n\r\n", 0) == (b"\r\n\r\n", 10)


def test_pack():
    assert resp.pack(("MGET", "a", b"b\r\n")) == b"*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$3\r\nb\r\n\r\n"
    assert resp.pack(("SELECT", 12)) == b"*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n"


def test_a_link_only_for_connections_it_speaks():
    tcp = resp.link_of(connect("redis://u:pw@127.0.0.1:6380/3"))
    assert tcp is not None
    assert (tcp.host, tcp.port, tcp.db, tcp.username, tcp.password, tcp.timeout) == (
        "127.0.0.1",
        6380,
        3,
        "u",
        "pw",
        0.25,
    )
    unix = resp.link_of(connect("unix:///run/redis/redis.sock?db=2"))
    assert unix is not None and (unix.path, unix.db) == ("/run/redis/redis.sock", 2)
    assert resp.link_of(connect("rediss://127.0.0.1:6380/0")) is None  # TLS: redis-py's


async def test_concurrent_reads_share_one_connection(redis_db):
    big = os.urandom(300_000)  # arrives in many chunks
    redis_db.set("homerack:a", b"1")
    redis_db.set("homerack:big", big)
    link = resp.link_of(connect(REDIS_URL))
    try:
        replies = await asyncio.gather(
            *(
                link.command("MGET", "homerack:a", "homerack:missing", "homerack:big")
                for _ in range(50)
            )
        )
        assert all(r == [b"1", None, big] for r in replies)
        # One connection, in the URL's database.
        ours = [c for c in redis_db.client_list() if c["addr"] == address(link)]
        assert [c["db"] for c in ours] == [str(redis_db.connection_pool.connection_kwargs["db"])]
        with pytest.raises(ResponseError):
            await link.command("GET")  # wrong number of arguments: that command only
        assert await link.command("GET", "homerack:a") == b"1"
    finally:
        link.close()


async def test_a_killed_connection_is_replaced_without_an_error(redis_db):
    redis_db.set("homerack:a", b"1")
    link = Redis(connect(REDIS_URL))
    try:
        assert await link.read("t", "GET", "homerack:a") == b"1"
        assert link._link is not None
        redis_db.client_kill(address(link._link))  # as a Redis restart would
        await asyncio.sleep(0.05)
        assert await link.read("t", "GET", "homerack:a") == b"1"
        assert link._errors == 0
    finally:
        await link.close()


def address(link: resp.Link) -> str:
    assert link._pipe is not None and link._pipe.transport is not None
    host, port = link._pipe.transport.get_extra_info("sockname")[:2]
    return f"{host}:{port}"


class FakeRedis:
    """Records what it receives; answers each command with the next scripted reply,
    one byte at a time (or never, for None)."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.received = b""

    async def serve(self, reader, writer):
        while self.replies:
            data = await reader.read(65536)
            if not data:
                break
            self.received += data
            while self.replies and self.received.count(b"*") > self.answered:
                reply = self.replies.pop(0)
                self.answered += 1
                if reply is None:
                    await asyncio.sleep(3600)
                for i in range(len(reply)):
                    writer.write(reply[i : i + 1])
                    await writer.drain()
        writer.close()

    answered = 0


async def test_auth_and_select_then_replies_in_pieces():
    fake = FakeRedis([b"+OK\r\n", b"+OK\r\n", b"*2\r\n$3\r\ng|x\r\n$-1\r\n"])
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = resp.Link(host="127.0.0.1", port=port, db=4, username="app", password="pw")
    try:
        assert await link.command("MGET", "g", "v") == [b"g|x", None]
        assert fake.received == (
            resp.pack(("AUTH", "app", "pw"))
            + resp.pack(("SELECT", 4))
            + resp.pack(("MGET", "g", "v"))
        )
    finally:
        link.close()
        server.close()


async def test_a_refused_password_fails_the_command():
    fake = FakeRedis([b"-WRONGPASS invalid username-password pair\r\n"])
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    link = resp.Link(host="127.0.0.1", port=server.sockets[0].getsockname()[1], password="no")
    try:
        with pytest.raises(ResponseError, match="WRONGPASS"):
            await link.command("GET", "k")
    finally:
        link.close()
        server.close()


async def test_a_silent_server_times_out_and_the_link_starts_afresh():
    fake = FakeRedis([None])
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    link = resp.Link(host="127.0.0.1", port=server.sockets[0].getsockname()[1], timeout=0.1)
    try:
        with pytest.raises(RedisTimeoutError):
            await link.command("GET", "k")
        assert link._pipe is not None and link._pipe.closed
    finally:
        link.close()
        server.close()
