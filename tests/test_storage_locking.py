"""Concurrent units of work on PostgreSQL: invariants that span rows hold under races."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from scratch_db import scratch_database

from homerack import storage
from homerack.domain.errors import Conflict, ValidationFailed
from homerack.domain.schemas import UserIn
from homerack.storage import users
from homerack.storage.database import open_database, upgrade


@pytest.fixture
def pg(postgres_admin_dsn):
    """A fresh PostgreSQL database of its own (SQLite runs one write transaction at a
    time, so these races exist on PostgreSQL only): no admin but the test's two."""
    with scratch_database(postgres_admin_dsn, "homerack_lock") as url:
        upgrade(url)
        db = open_database(url)
        yield db
        db.disconnect()


@pytest.mark.parametrize(
    "change",
    [
        lambda db, uid: users.update_user(db, uid, {"role": "editor"}),
        lambda db, uid: users.update_user(db, uid, {"active": False}),
        lambda db, uid: users.delete_user(db, uid),
    ],
    ids=["demote", "deactivate", "delete"],
)
def test_two_concurrent_demotions_leave_one_admin(pg, monkeypatch, change):
    ids = [
        users.create_user(
            pg, UserIn(username=f"admin{i}", password="long enough pw", role="admin")
        )["id"]
        for i in range(2)
    ]
    # Both transactions count the admins before either commits (the race that left no
    # admin when only the target row was locked).
    count = pg.User.select
    monkeypatch.setattr(pg.User, "select", lambda *a, **kw: (time.sleep(0.3), count(*a, **kw))[1])
    start = threading.Barrier(2)

    def attempt(uid):
        start.wait()
        try:
            storage.call(change, pg, uid)
            return "done"
        except (ValidationFailed, Conflict):
            return "refused"
        finally:
            pg.disconnect()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(attempt, ids))
    monkeypatch.undo()
    assert outcomes == ["done", "refused"]
    admins = users.list_users(pg, 50, 0, role="admin")["items"]
    assert [u["active"] for u in admins].count(True) == 1


def test_a_unit_whose_rows_keep_changing_is_a_conflict_after_its_last_run():
    from pony.orm.core import OptimisticCheckError

    runs = []

    def tripping(db, trips):
        runs.append(db)
        if len(runs) <= trips:
            raise OptimisticCheckError(
                "Object Device[1] was updated outside of current transaction"
            )
        return "saved"

    assert storage.call(tripping, "db", storage.ISOLATION_ATTEMPTS - 1) == "saved"
    assert len(runs) == storage.ISOLATION_ATTEMPTS
    runs.clear()
    with pytest.raises(Conflict, match="changed meanwhile"):
        storage.call(tripping, "db", storage.ISOLATION_ATTEMPTS)
    assert len(runs) == storage.ISOLATION_ATTEMPTS
