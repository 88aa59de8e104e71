"""Storage: Pony entities, migrations and the units of work the API runs in its DB threads.

Every public function here is a synchronous ``@db_session`` unit of work (``@read_only``
for those that only read) that returns plain data (dicts, lists), never entities, so
callers on the event loop never touch a session.
"""

from __future__ import annotations

import logging
import time

from pony.orm.core import OptimisticCheckError, TransactionIntegrityError, UnrepeatableReadError
from pony.orm.dbapiprovider import IntegrityError

from ..domain.errors import Conflict
from ..metrics import DB_RETRIES, DB_UNAVAILABLE
from .connection import (
    DatabaseUnavailable,
    commit_sent,
    connection_lost,
    describe,
    discard_connection,
    read_only,
    start_unit,
)

__all__ = ["DatabaseUnavailable", "call", "read_only"]

log = logging.getLogger("homerack.db")

# Pause before the one retry: long enough for a terminated backend's replacement or a
# blip to pass, short enough that a request held by it stays well under a second.
RETRY_PAUSE_S = 0.25


def call(fn, db, *args, **kwargs):
    """Run one unit of work in this (DB pool) thread.

    A constraint that fires at commit (e.g. two clients creating the same name at once),
    or a row another transaction changed under this one (Pony's optimistic check),
    becomes a Conflict, not a server error.

    A lost connection (PostgreSQL restarted, the backend terminated, the network reset)
    never stays in the pool: the thread's connection is discarded, so the next unit of
    work opens a fresh one. The unit of work then runs once more, on a fresh connection,
    when that cannot apply anything twice: a ``@read_only`` unit always; a write only if
    it had not sent its COMMIT (the server rolls back a transaction whose connection
    died, so nothing of it was saved). A write whose COMMIT was sent may be saved and is
    never re-run. What still fails raises DatabaseUnavailable.
    """
    operation = getattr(fn, "__name__", "other")
    reads = getattr(fn, "read_only", False)
    for attempt in (1, 2):
        start_unit()
        try:
            return fn(db, *args, **kwargs)
        except (TransactionIntegrityError, IntegrityError, OptimisticCheckError,
                UnrepeatableReadError) as exc:
            raise Conflict("the change conflicts with existing data (a duplicate name, or "
                           "a record that was changed meanwhile): "
                           f"{exc.__class__.__name__}") from None
        except Exception as exc:
            if not connection_lost(exc):
                raise
            discard_connection(db)
            maybe_committed = not reads and commit_sent()
            reason = describe(exc)
            if attempt == 1 and not maybe_committed:
                DB_RETRIES.labels(operation).inc()
                log.warning("no database connection in %s; running it once more on a fresh "
                            "connection", operation,
                            extra={"operation": operation, "error": reason})
                time.sleep(RETRY_PAUSE_S)
                continue
            DB_UNAVAILABLE.labels(operation).inc()
            raise DatabaseUnavailable(operation, "read" if reads else "write",
                                      maybe_committed, reason) from exc
    raise AssertionError("unreachable")  # pragma: no cover
