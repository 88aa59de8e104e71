"""Lost database connections: what counts as one, which units of work may run again, and
what a unit of work had sent before it failed.

Each DB pool thread keeps one Pony connection. When PostgreSQL restarts, a backend is
terminated or the network drops, that connection dies; Pony notices on its next
statement (and replaces it at once when that is the session's first statement).
``storage.call`` uses what is here to discard the thread's connection after any loss, run
the unit of work once more on a fresh one when that cannot apply anything twice, and
otherwise raise ``DatabaseUnavailable`` (the API answers 503).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref

import psycopg2
from pony.orm import core as pony_core
from pony.orm import db_session
from pony.orm.core import (
    CommitException,
    ConnectionClosedError,
    PartialCommitException,
    RollbackException,
)
from pony.orm.dbapiprovider import DBException

from ..metrics import DB_RECONNECTS

# SQLSTATEs that mean "no usable connection" rather than "this statement failed": the
# server shut the backend down (admin or crash), is starting or stopping, or has no slot.
# Class 08 (connection exception) counts too, and so does no SQLSTATE at all: libpq
# reports a refused, reset or timed-out connection without one.
_LOST_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


class DatabaseUnavailable(Exception):
    """A unit of work could not run because the database was unreachable or its connection
    was lost (after the one retry, where one was allowed).

    ``kind`` is "read" or "write"; ``maybe_committed`` is True when a write's COMMIT had
    been sent when the connection failed: the change may be saved, and must not be
    re-applied blindly."""

    def __init__(self, operation: str, kind: str, maybe_committed: bool, reason: str):
        super().__init__(f"{operation}: the database is unavailable ({reason})")
        self.operation = operation
        self.kind = kind
        self.maybe_committed = maybe_committed
        self.reason = reason


def connection_lost(exc: BaseException | None) -> bool:
    """Whether ``exc`` (as Pony raises it, possibly wrapped) means the connection is gone
    or could not be opened, as opposed to an error of the statement itself."""
    seen = 0
    while exc is not None and seen < 8:  # wrappers nest a level or two
        seen += 1
        if isinstance(exc, ConnectionClosedError):  # lost in the middle of a transaction
            return True
        if isinstance(exc, psycopg2.InterfaceError):  # "connection already closed"
            return True
        if isinstance(exc, psycopg2.OperationalError):
            code = exc.pgcode
            return code is None or code.startswith("08") or code in _LOST_STATES
        if isinstance(exc, DBException):  # Pony's wrapper of the driver's error
            exc = exc.original_exc
        elif isinstance(exc, (CommitException, PartialCommitException, RollbackException)):
            exc = exc.exceptions[0][1] if exc.exceptions else None
        else:
            return False
    return False


def describe(exc: BaseException) -> str:
    """The driver's message, first line only (psycopg2's run over several lines)."""
    while isinstance(exc, DBException) and exc.original_exc is not None:
        exc = exc.original_exc
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0]}" if text else exc.__class__.__name__


def read_only(fn):
    """Declare a unit of work that only reads (use it instead of ``@db_session``).

    ``storage.call`` runs such a unit once more on a fresh connection when its connection
    was lost: running a read twice cannot change anything. A unit declared read-only that
    changes an entity fails (and its session rolls back), so the declaration cannot lie.
    """

    @functools.wraps(fn)
    def reading(db, *args, **kwargs):
        result = fn(db, *args, **kwargs)
        cache = pony_core.local.db2cache.get(db)  # this thread's session cache of db
        if cache is not None and cache.modified:
            raise TypeError(f"{fn.__name__} is declared read-only but changed data")
        return result

    unit = db_session(reading)
    unit.read_only = True
    return unit


# Per DB thread: whether the running unit of work has sent a COMMIT, and which databases
# this thread has connected to before (a new connection after that is a reconnect).
_thread = threading.local()


def commit_sent() -> bool:
    return getattr(_thread, "commit_sent", False)


def start_unit() -> None:
    _thread.commit_sent = False


def _connected(db, connection) -> None:
    seen = getattr(_thread, "databases", None)
    if seen is None:
        seen = _thread.databases = weakref.WeakSet()
    if db in seen:
        DB_RECONNECTS.inc()
    seen.add(db)


def before_bind(db) -> None:
    """Count reconnects: a pool thread that opens a new connection had lost its last."""
    db.on_connect(_connected)


def after_bind(db) -> None:
    """Two adjustments of Pony's provider (per Database, so tests' instances too):

    * each COMMIT sent is noted, so a failed write can tell whether it may be saved;
    * a connection lost in the middle of a transaction is not replaced in place. Pony
      reconnects and re-runs the failing statement when the connection was lost (meant
      for a session's first statement), but its drop() clears the session's
      in-transaction flag before connect() checks it, so a write went on in a new
      transaction without its first part and could commit half of itself. The error
      reaches storage.call instead, which runs the whole unit of work again (or not).
    """
    provider = db.provider
    commit = provider.commit
    should_reconnect = provider.should_reconnect

    def watched_commit(connection, cache=None):
        _thread.commit_sent = True
        return commit(connection, cache)

    def reconnect_outside_transactions(exc) -> bool:
        cache = pony_core.local.db2cache.get(db)
        if cache is not None and cache.in_transaction:
            return False
        return should_reconnect(exc)

    provider.commit = watched_commit
    provider.should_reconnect = reconnect_outside_transactions


def discard_connection(db) -> None:
    """Close this thread's pooled connection (dead or not), so that the next unit of work
    opens a fresh one. Never raises: closing a dead connection may fail."""
    with contextlib.suppress(Exception):  # it is being thrown away anyway
        db.disconnect()
