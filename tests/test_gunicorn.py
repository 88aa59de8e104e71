"""The production server for real: Gunicorn + 2 uvicorn workers on a unix socket, with
PostgreSQL, a private Redis and prometheus multiprocess metrics."""

import contextlib
import http.client
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import add_test_users
from scratch_db import pg_exec, with_dbname

import homerack
from homerack.logs import syslog_priority
from homerack.storage.database import upgrade

# The servers import the package under test, whatever the venv has installed.
APP_DIR = str(Path(homerack.__file__).resolve().parents[1])


def _pythonpath(*dirs: str) -> str:
    return os.pathsep.join([*dirs, APP_DIR, *filter(None, [os.environ.get("PYTHONPATH")])])


pytestmark = pytest.mark.postgres


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10):
        super().__init__("homerack", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def request(sock: str, method: str, path: str, body=None, headers=None):
    conn = UnixConnection(sock)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {
            "Connection": "close",
            **({"Content-Type": "application/json"} if data else {}),
            **(headers or {}),
        }
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        ctype = resp.getheader("Content-Type") or ""
        return (
            resp.status,
            dict(resp.getheaders()),
            (json.loads(raw) if "json" in ctype else raw.decode()),
        )
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def private_redis(workdir: Path):
    """A redis-server of its own on a free port: tests may stop and start it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; run `make services`")
    port = free_port()

    def start():
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return proc
            time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    state = {"proc": start(), "url": f"redis://127.0.0.1:{port}/0", "start": start}
    try:
        yield state
    finally:
        state["proc"].terminate()
        state["proc"].wait(10)


@contextlib.contextmanager
def gunicorn(admin_dsn: str, redis_url: str, tmp: Path):
    """Gunicorn with two workers on a database of its own; yields the socket path, the
    master process, the log and the database."""
    name = f"homerack_gunicorn_{secrets.token_hex(4)}"
    pg_exec(admin_dsn, f"CREATE DATABASE {name}")
    url = with_dbname(admin_dsn, name)
    upgrade(url)
    add_test_users(url)  # user 1, the admin of _admin_token()
    (tmp / "metrics").mkdir()
    sock = str(tmp / "api.sock")
    env = {
        **os.environ,
        "HOMERACK_DATABASE_URL": url,
        "HOMERACK_JWT_SECRET": "x" * 40,
        "HOMERACK_REDIS_URL": redis_url,
        "HOMERACK_BIND": f"unix:{sock}",
        "HOMERACK_WORKERS": "2",
        "HOMERACK_UPLOAD_DIR": str(tmp / "uploads"),
        "HOMERACK_GRACEFUL_TIMEOUT": "10",
        "HOMERACK_RATE_LIMIT": "off",
        "HOMERACK_CONTROL_SOCKET": "off",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "PYTHONPATH": _pythonpath(),
    }
    log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:homerack.gunicorn_conf",
            "homerack.asgi:app",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request(sock, "GET", "/api/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not become ready:\n" + (tmp / "gunicorn.log").read_text())
        yield {
            "sock": sock,
            "proc": proc,
            "log": tmp / "gunicorn.log",
            "dsn": admin_dsn,
            "db": name,
            "url": url,
        }
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)
        log.close()
        pg_exec(admin_dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def server(postgres_admin_dsn, tmp_path_factory):
    """The server the tests share: none of them stops it, its Redis or its workers."""
    with (
        private_redis(tmp_path_factory.mktemp("redis")) as redis_server,
        gunicorn(postgres_admin_dsn, redis_server["url"], tmp_path_factory.mktemp("gunicorn")) as s,
    ):
        yield s


@pytest.fixture
def own_server(postgres_admin_dsn, tmp_path):
    """A server and Redis of the test's own, for a test that stops or kills them."""
    (tmp_path / "redis").mkdir()
    with (
        private_redis(tmp_path / "redis") as redis_server,
        gunicorn(postgres_admin_dsn, redis_server["url"], tmp_path) as s,
    ):
        yield {**s, "redis": redis_server}


def metric(text: str, name: str, **labels) -> float:
    want = [f'{k}="{v}"' for k, v in labels.items()]
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(w in line for w in want):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_summed_across_workers(server):
    sock = server["sock"]
    before = metric(
        request(sock, "GET", "/metrics")[2],
        "homerack_http_requests_total",
        route="/api/health/live",
        status="200",
    )
    # Concurrent batches until both workers have answered (the kernel hands connections
    # to whichever worker accepts first, so one idle worker may take a short burst alone).
    pids, sent = set(), 0
    with ThreadPoolExecutor(8) as pool:
        while (len(pids) < 2 or sent < 40) and sent < 2000:
            batch = list(pool.map(lambda _: request(sock, "GET", "/api/health/live"), range(16)))
            assert {r[0] for r in batch} == {200}
            sent += len(batch)
            pids |= {
                r[2]["pid"]
                for r in pool.map(lambda _: request(sock, "GET", "/api/health/detailed"), range(8))
            }
    assert len(pids) == 2, "both workers served requests"
    text = request(sock, "GET", "/metrics")[2]
    after = metric(text, "homerack_http_requests_total", route="/api/health/live", status="200")
    assert after - before == sent  # every worker's share, not one worker's
    assert metric(text, "homerack_build_info") == 1
    assert metric(text, "homerack_workers") == 2  # one per live worker, summed


def test_a_dead_worker_leaves_the_workers_gauge(own_server):
    """The workers gauge counts live workers: a killed worker's 1 goes, its replacement's
    comes (the service-down alert and the dashboard read it)."""
    sock = own_server["sock"]
    before: set[int] = set()
    for _ in range(200):  # both workers' pids, so that a new one means the replacement
        before.add(request(sock, "GET", "/api/health/detailed")[2]["pid"])
        if len(before) == 2:
            break
    assert len(before) == 2, before
    pid = next(iter(before))
    os.kill(pid, signal.SIGKILL)
    # Wait for the replacement to answer: until the master has reaped the dead worker
    # (and dropped its gauge file), the gauge can still read 2 with the dead one counted.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = {request(sock, "GET", "/api/health/detailed")[2]["pid"] for _ in range(8)}
        if pids - before and metric(request(sock, "GET", "/metrics")[2], "homerack_workers") == 2:
            break
        time.sleep(0.2)
    assert metric(request(sock, "GET", "/metrics")[2], "homerack_workers") == 2


def test_request_id_goes_through_gunicorn(server):
    status, headers, _ = request(
        server["sock"], "GET", "/api/health", headers={"X-Request-ID": "req-1234-abcd"}
    )
    assert status == 200 and headers["x-request-id"] == "req-1234-abcd"


def test_redis_down_degrades_and_recovers(own_server):
    sock, redis_server = own_server["sock"], own_server["redis"]
    redis_server["proc"].terminate()
    redis_server["proc"].wait(10)
    try:
        status, _, body = request(sock, "GET", "/api/health/ready")
        assert status == 200 and body["status"] == "degraded"
        assert request(sock, "GET", "/api/health/live")[0] == 200
    finally:
        redis_server["proc"] = redis_server["start"]()
    for _ in range(50):  # each worker notices on its next ping
        if all(request(sock, "GET", "/api/health/ready")[2]["status"] == "ready" for _ in range(4)):
            break
        time.sleep(0.2)
    else:
        pytest.fail("ready did not recover after Redis came back")


def test_database_down_is_503_and_recovers(server):
    """Readiness and the API alike answer 503 (with Retry-After) while the database
    refuses connections, each failed request is one JSON line in the log (checked with
    every other line below), and both recover without a restart."""
    sock, dsn, db = server["sock"], server["dsn"], server["db"]
    auth = {"Authorization": f"Bearer {_admin_token()}"}
    pg_exec(dsn, f"ALTER DATABASE {db} ALLOW_CONNECTIONS false")
    pg_exec(
        dsn, f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{db}'"
    )
    try:
        results = [request(sock, "GET", "/api/health/ready") for _ in range(4)]
        assert {r[0] for r in results} == {503}
        assert all(r[2]["checks"]["database"].startswith("unavailable") for r in results)
        reads = [
            request(sock, "GET", f"/api/racks?limit={n}", headers=auth) for n in range(1, 5)
        ]  # uncached: a new key each
        assert {r[0] for r in reads} == {503}, reads
        assert all(
            r[1]["retry-after"] == "2" and "database is unavailable" in r[2]["description"]
            for r in reads
        )
    finally:
        pg_exec(dsn, f"ALTER DATABASE {db} ALLOW_CONNECTIONS true")
    codes = [request(sock, "GET", "/api/health/ready")[0] for _ in range(4)]
    assert codes == [200] * 4
    assert {request(sock, "GET", "/api/racks?limit=9", headers=auth)[0] for _ in range(4)} == {200}
    failed = {
        json.loads(line)["request_id"]
        for line in server["log"].read_text().splitlines()
        if "database unavailable" in line
    }
    assert {r[1]["x-request-id"] for r in reads} <= failed


def test_sigterm_lets_an_in_flight_request_finish(own_server):
    """Gunicorn stops gracefully: a request already being received is answered."""
    sock, proc = own_server["sock"], own_server["proc"]
    token = _admin_token()
    payload = json.dumps({"name": "graceful", "u_height": 12}).encode()
    conn = UnixConnection(sock, timeout=20)
    conn.connect()
    head = (
        f"POST /api/racks HTTP/1.1\r\nHost: homerack\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    conn.sock.sendall(head + payload[:10])  # the request is in flight, body half sent
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    conn.sock.sendall(payload[10:])
    raw = b""
    while chunk := conn.sock.recv(65536):
        raw += chunk
    conn.close()
    assert raw.startswith(b"HTTP/1.1 201"), raw[:200]
    assert proc.wait(20) == 0
    assert re.search(rb"Shutting down|Handling signal: term", own_server["log"].read_bytes())


def _admin_token() -> str:
    from homerack import security

    # Signed with the server's secret: the token path itself is covered elsewhere.
    return security.issue_token("x" * 40, 1, "admin", "admin", 600)


def test_log_lines_are_json_without_prefix_outside_the_journal(server):
    """Everything the server wrote (boot, requests, the database outage) is one JSON object
    per line, with no syslog prefix: stderr was a file."""
    lines = server["log"].read_text().splitlines()
    assert len(lines) > 5
    for line in lines:
        assert line.startswith("{"), line
        json.loads(line)
    loggers = {json.loads(line)["logger"] for line in lines}
    assert {"gunicorn.error", "uvicorn.error", "homerack"} <= loggers


BOOM_APP = """
import warnings

from homerack.asgi import app as homerack_app


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/boom":
        raise RuntimeError("boom\\nsecond line")  # uncaught: uvicorn logs it
    if scope["type"] == "http" and scope["path"] == "/warn":
        warnings.warn("something is deprecated", UserWarning, stacklevel=1)
    await homerack_app(scope, receive, send)
"""


def test_under_journald_every_line_has_its_syslog_priority(postgres_admin_dsn, tmp_path):
    """stderr is the journal's stream (JOURNAL_STREAM names its device and inode, as
    systemd does): every line is <N>{json} with N the level's priority, and an uncaught
    exception is one line with its traceback inside."""
    name = f"homerack_journal_{secrets.token_hex(4)}"
    pg_exec(postgres_admin_dsn, f"CREATE DATABASE {name}")
    url = with_dbname(postgres_admin_dsn, name)
    upgrade(url)
    (tmp_path / "boomapp.py").write_text(BOOM_APP)
    sock = str(tmp_path / "api.sock")
    log_path = tmp_path / "stderr.log"
    with open(log_path, "wb") as log:
        st = os.fstat(log.fileno())
        env = {
            **os.environ,
            "HOMERACK_DATABASE_URL": url,
            "HOMERACK_JWT_SECRET": "x" * 40,
            "HOMERACK_BIND": f"unix:{sock}",
            "HOMERACK_WORKERS": "1",
            "HOMERACK_UPLOAD_DIR": str(tmp_path / "uploads"),
            "HOMERACK_RATE_LIMIT": "off",
            "HOMERACK_CONTROL_SOCKET": "off",
            "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
            "PYTHONPATH": _pythonpath(str(tmp_path)),
        }
        env.pop("HOMERACK_REDIS_URL", None)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:homerack.gunicorn_conf",
                "boomapp:app",
            ],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if request(sock, "GET", "/api/health/ready")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            assert request(sock, "GET", "/boom")[0] == 500
            assert request(sock, "GET", "/warn")[0] == 404
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            pg_exec(postgres_admin_dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    records = []
    for line in log_path.read_text().splitlines():
        match = re.fullmatch(r"<([0-7])>(\{.*\})", line)
        assert match, line
        record = json.loads(match.group(2))
        expected = syslog_priority(logging.getLevelName(record["level"].upper()))
        assert int(match.group(1)) == expected, line
        records.append(record)
    by_logger = {r["logger"] for r in records}
    assert {"gunicorn.error", "uvicorn.error", "homerack", "py.warnings"} <= by_logger
    boom = [r for r in records if r["msg"] == "Exception in ASGI application"]
    assert len(boom) == 1 and boom[0]["level"] == "error"
    assert "RuntimeError: boom\nsecond line" in boom[0]["exc"]
    assert any(r["level"] == "warning" and "deprecated" in r["msg"] for r in records)
    assert any(r["msg"].startswith("Booting worker") for r in records)


def test_the_server_entry_point_freezes_its_startup_heap(tmp_path):
    """homerack.asgi moves what the worker imported and built out of the cyclic GC's
    full collections (gc.freeze): they took ~60 ms under load, the cached reads' p99."""
    env = {
        **os.environ,
        "HOMERACK_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "HOMERACK_JWT_SECRET": "s" * 48,
        "HOMERACK_UPLOAD_DIR": str(tmp_path / "uploads"),
        "PYTHONPATH": _pythonpath(),
    }
    probe = "import gc, homerack.asgi; print(gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.split()[-1]) > 10_000
