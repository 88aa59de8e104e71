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
# Runs of a unit of work whose rows other transactions keep changing under it, before
# the request answers 409: one change racing another (two clicks) needs two.
ISOLATION_ATTEMPTS = 3
_CONFLICT = (
    "the change conflicts with existing data (a duplicate name, or a record "
    "that was changed meanwhile): "
)


def call(fn, db, *args, **kwargs):
    """Run one unit of work in this (DB pool) thread.

    A row another transaction changed between this unit's read and its write (Pony's
    optimistic check: the UPDATE's WHERE names every column the unit had read) rolls the
    unit back before its COMMIT, and it runs again on the fresh row, up to
    ISOLATION_ATTEMPTS times in all. A unit reads, merges and validates in its own
    transaction, so running it again applies the same change after the other one: a
    PATCH of a device's ``locked`` racing a PATCH of its ``rack_id`` (the device panel's
    Unlock, then Remove from rack, clicked quickly) both apply, instead of the second
    answering 409 though they do not clash. What still trips after the last run, and a
    constraint that fires at commit (e.g. two clients creating the same name at once),
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
    attempt = isolation_attempt = 1
    while True:
        start_unit()
        try:
            return fn(db, *args, **kwargs)
        except (OptimisticCheckError, UnrepeatableReadError) as exc:
            # Raised before the COMMIT (at a flush): nothing of the unit was saved.
            if isolation_attempt < ISOLATION_ATTEMPTS and not commit_sent():
                isolation_attempt += 1
                log.info(
                    "a row changed under %s; running it again on the fresh data",
                    operation,
                    extra={"operation": operation, "error": exc.__class__.__name__},
                )
                continue
            raise Conflict(_CONFLICT + exc.__class__.__name__) from None
        except (TransactionIntegrityError, IntegrityError) as exc:
            raise Conflict(_CONFLICT + exc.__class__.__name__) from None
        except Exception as exc:
            if not connection_lost(exc):
                raise
            discard_connection(db)
            maybe_committed = not reads and commit_sent()
            reason = describe(exc)
            if attempt == 1 and not maybe_committed:
                attempt += 1
                DB_RETRIES.labels(operation).inc()
                log.warning(
                    "no database connection in %s; running it once more on a fresh connection",
                    operation,
                    extra={"operation": operation, "error": reason},
                )
                time.sleep(RETRY_PAUSE_S)
                continue
            DB_UNAVAILABLE.labels(operation).inc()
            raise DatabaseUnavailable(
                operation, "read" if reads else "write", maybe_committed, reason
            ) from exc
