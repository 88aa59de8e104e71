"""CPU- and decode-heavy work off the event loop: the optimizer's child processes (caps,
limits, recovery) and the logo decoding pool, against real PostgreSQL, Redis and
processes."""

import asyncio
import io
import os
import signal
import threading
from pathlib import Path

import optimizer_hold
import pytest
from helpers import Api, png, query
from PIL import Image
from prometheus_client import REGISTRY
from test_runtime_redis import REDIS_URL, app_with, closed_port_url, redis_db  # noqa: F401

from homerack.api import brands, compute
from homerack.api.runtime import DECODE_QUEUE, DECODE_THREADS
from homerack.cache import Redis
from homerack.domain import optimizer

# Processes and Redis are what is under test: PostgreSQL only, not twice.
postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

USER_KEY = "homerack:optimizer:user:{}"


def optimize(lab) -> str:
    return f"/api/racks/{lab['rack']['id']}/optimize"


async def detailed(api) -> dict:
    return (await api.get("/api/health/detailed")).json["optimizer"]


async def child_pid(api, lab) -> int:
    """The optimizer child of this app (started by a first run if need be)."""
    if not (await detailed(api))["pids"]:
        assert (await api.post(optimize(lab), json={})).status_code == 200
    [pid] = (await detailed(api))["pids"]
    return pid


async def wait_gone(pid: int) -> None:
    for _ in range(500):
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"process {pid} is still running")


@pytest.fixture
async def big_rack(api) -> str:
    """A 48U rack of 40 devices and 200 cables: a 10 s optimization computes for a while."""
    types = [
        {
            "brand": "B",
            "model": f"M{i}",
            "category": "server",
            "u_height": 1,
            "weight_kg": 2 + i,
            "power_w": 20 * i,
        }
        for i in range(8)
    ]
    devices = [
        {
            "name": f"d{i}",
            "brand": "B",
            "model": f"M{i % 8}",
            "rack": "Big",
            "position_u": i + 1,
            "access_frequency": ("daily", "weekly", "rarely")[i % 3],
        }
        for i in range(40)
    ]
    cables = [
        {"device_a": f"d{i}", "device_b": f"d{(i * 7 + k) % 40}", "cable_type": "cat6"}
        for i in range(40)
        for k in range(1, 6)
        if (i * 7 + k) % 40 != i
    ]
    doc = {
        "format": "homerack-inventory",
        "version": 1,
        "brands": [{"name": "B"}],
        "device_types": types,
        "racks": [{"name": "Big", "u_height": 48}],
        "devices": devices,
        "connections": cables,
    }
    result = await api.post("/api/import", json=doc)
    assert result.status_code == 200, result.text
    rack = (await api.get("/api/racks", params={"q": "Big"})).json["items"][0]
    return f"/api/racks/{rack['id']}"


@postgres_only
async def test_health_and_reads_answer_while_an_optimization_computes(api, big_rack):
    run = asyncio.create_task(
        api.post(big_rack + "/optimize", json={"time_limit_ms": 10_000}, role="viewer")
    )
    for _ in range(1000):
        if (await detailed(api))["running"]:
            break
        await asyncio.sleep(0.01)
    health = await api.get("/api/health")
    read = await api.get(big_rack)
    # Both answered while the run was still computing in its child process.
    assert not run.done()
    assert health.status_code == 200 and read.status_code == 200
    result = await run
    assert result.status_code == 200, result.text
    assert len(result.json["placements"]) == 40


@postgres_only
async def test_per_user_cap_holds_across_app_instances_sharing_redis(
    config,
    redis_db,  # noqa: F811
    lab,
    held_optimizer,
):
    async with (
        app_with(config, redis_url=REDIS_URL) as one,
        app_with(config, redis_url=REDIS_URL) as two,
    ):
        a, b = Api(one), Api(two)
        first = asyncio.create_task(a.post(optimize(lab), json={}, role="viewer"))
        assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
        refused = await b.post(optimize(lab), json={"time_limit_ms": 3000}, role="viewer")
        assert refused.status_code == 429, refused.text
        assert "you already have 1 optimization running" in refused.json["description"]
        assert int(refused.headers["retry-after"]) == 3
        other = asyncio.create_task(b.post(optimize(lab), json={}, role="editor"))
        assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
        held_optimizer.release.set()
        assert [(await first).status_code, (await other).status_code] == [200, 200]
        assert redis_db.zcard(USER_KEY.format(3)) == 0  # the slot was given back
        assert (await b.post(optimize(lab), json={}, role="viewer")).status_code == 200


@postgres_only
async def test_per_user_cap_falls_back_to_the_worker_without_redis(config, lab, held_optimizer):
    async with app_with(config, redis_url=closed_port_url(), optimizer_processes=2) as c:
        api = Api(c)
        first = asyncio.create_task(api.post(optimize(lab), json={}, role="viewer"))
        assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
        refused = await api.post(optimize(lab), json={}, role="viewer")
        assert refused.status_code == 429
        assert "already have 1 optimization running" in refused.json["description"]
        other = asyncio.create_task(api.post(optimize(lab), json={}, role="editor"))
        assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
        held_optimizer.release.set()
        assert [(await first).status_code, (await other).status_code] == [200, 200]


async def test_a_slot_left_by_a_dead_worker_expires(redis_db):  # noqa: F811
    from homerack.cache import connect

    link = Redis(connect(REDIS_URL))
    try:
        slots = compute.UserSlots(link, cap=1)
        slot, _ = await slots.acquire("7", ttl_s=0.3)  # never released: its worker died
        assert slot is not None
        assert await slots.acquire("7", ttl_s=0.3) == (None, 1)
        assert (await slots.acquire("8", ttl_s=0.3))[0] is not None  # another user
        slots.local.clear()  # what a restarted worker knows
        await asyncio.sleep(0.4)
        assert (await slots.acquire("7", ttl_s=5))[0] is not None
        assert redis_db.zcard(USER_KEY.format(7)) == 1
    finally:
        await link.close()


@postgres_only
async def test_optimizer_child_is_memory_capped_and_niced(api, lab, config):
    pid = await child_pid(api, lab)
    limits = Path(f"/proc/{pid}/limits").read_text()
    line = next(ln for ln in limits.splitlines() if ln.startswith("Max address space"))
    limit = str(config.optimizer_memory_mb * 1024 * 1024)
    assert line.split()[3:5] == [limit, limit], line
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + compute.CHILD_NICE)
    assert os.getpriority(os.PRIO_PROCESS, pid) == expected


@postgres_only
async def test_a_killed_child_is_a_503_and_the_next_run_works(api, lab, held_optimizer):
    run = asyncio.create_task(api.post(optimize(lab), json={}))
    assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
    [pid] = (await detailed(api))["pids"]
    os.kill(pid, signal.SIGKILL)  # as the OOM killer would
    died = await run
    assert died.status_code == 503, died.text
    assert "stopped unexpectedly" in died.json["description"]
    assert int(died.headers["retry-after"]) >= 1
    held_optimizer.release.set()
    again = await api.post(optimize(lab), json={})
    assert again.status_code == 200, again.text
    assert (await detailed(api))["pids"] not in ([], [pid])


@postgres_only
async def test_a_run_past_its_deadline_is_stopped_and_its_child_replaced(
    api, lab, held_optimizer, monkeypatch
):
    margin = compute.DEADLINE_MARGIN_S
    monkeypatch.setattr(compute, "DEADLINE_MARGIN_S", 1.0)
    run = asyncio.create_task(api.post(optimize(lab), json={"time_limit_ms": 1}))
    assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
    [pid] = (await detailed(api))["pids"]
    stuck = await run  # held in its child: it never ends by itself
    assert stuck.status_code == 503
    assert "ran past its time limit" in stuck.json["description"]
    await wait_gone(pid)
    monkeypatch.setattr(compute, "DEADLINE_MARGIN_S", margin)
    held_optimizer.release.set()
    again = await api.post(optimize(lab), json={})
    assert again.status_code == 200, again.text
    assert pid not in (await detailed(api))["pids"]


@postgres_only
async def test_running_out_of_memory_in_the_child_is_a_422(api, lab, config, monkeypatch):
    pid = await child_pid(api, lab)
    with monkeypatch.context() as m:
        m.setattr(optimizer, "optimize", optimizer_hold.hungry)
        hungry = await api.post(optimize(lab), json={})
    assert hungry.status_code == 422, hungry.text
    assert (
        f"more than the optimizer's {config.optimizer_memory_mb} MB" in hungry.json["description"]
    )
    again = await api.post(optimize(lab), json={})
    assert again.status_code == 200, again.text
    assert pid not in (await detailed(api))["pids"]  # a fresh child, not the strained one


def _in_progress(state: str) -> float:
    return REGISTRY.get_sample_value("homerack_optimizer_runs_in_progress", {"state": state}) or 0


@postgres_only
async def test_running_and_queued_runs_are_a_metric(config, lab, held_optimizer):
    async with app_with(config, optimizer_per_user=4) as c:
        api = Api(c)
        runs = [asyncio.create_task(api.post(optimize(lab), json={})) for _ in range(3)]
        assert await asyncio.to_thread(held_optimizer.started.acquire, True, 10)
        await asyncio.sleep(0.2)
        assert (_in_progress("running"), _in_progress("queued")) == (1, 2)
        assert (await detailed(api))["queued"] == 2
        metrics = (await api.get("/metrics", role=None)).text
        assert 'homerack_optimizer_runs_in_progress{state="queued"} 2.0' in metrics
        held_optimizer.release.set()
        assert [(await r).status_code for r in runs] == [200] * 3
        assert (_in_progress("running"), _in_progress("queued")) == (0, 0)


@postgres_only
async def test_logo_decoding_has_its_own_bounded_pool(api, config, monkeypatch):
    entered, release = threading.Semaphore(0), threading.Event()
    real = brands.sanitize_image

    def slow(data):
        entered.release()
        release.wait(10)
        return real(data)

    monkeypatch.setattr(brands, "sanitize_image", slow)
    paths = [
        f"/api/brands/{(await api.create('/api/brands', {'name': f'B{i}'}))['id']}/logo"
        for i in range(DECODE_THREADS + DECODE_QUEUE + 1)
    ]
    headers = {"Content-Type": "image/png"}
    uploads = [
        asyncio.create_task(api.put(path, body=png(), headers=headers)) for path in paths[1:]
    ]
    for _ in range(DECODE_THREADS):
        assert await asyncio.to_thread(entered.acquire, True, 10)
    await asyncio.sleep(0.2)  # the others wait in the decoder's queue
    # Every decoding thread is taken: reads still get the DB threads (2 in tests).
    assert (await api.get("/api/brands")).status_code == 200
    busy = await api.put(paths[0], body=png((1, 1, 1)), headers=headers)
    assert busy.status_code == 503, busy.text
    assert "busy with other image uploads" in busy.json["description"]
    assert int(busy.headers["retry-after"]) >= 1
    assert not any(u.done() for u in uploads)
    release.set()
    assert [(await u).status_code for u in uploads] == [200] * len(uploads)
    # The refused upload's (black) image was never stored, nor its brand's logo set.
    assert (await api.get(paths[0].removesuffix("/logo"))).json["logo_url"] is None
    stored = query(config.database_url, "SELECT data FROM logo")
    assert len(stored) == 1
    with Image.open(io.BytesIO(bytes(stored[0][0]))) as image:
        assert image.getpixel((0, 0)) == (200, 30, 30)


@postgres_only
async def test_the_pool_survives_an_idle_child_that_died(api, lab):
    pid = await child_pid(api, lab)
    os.kill(pid, signal.SIGKILL)
    await wait_gone(pid)
    await asyncio.sleep(0.5)  # the executor notices its child is gone
    result = await api.post(optimize(lab), json={})
    assert result.status_code == 200, result.text
