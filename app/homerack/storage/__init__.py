"""Storage: Pony entities, migrations and the units of work the API runs in its DB threads.

Every public function here is a synchronous ``@db_session`` unit of work that
returns plain data (dicts, lists), never entities, so callers on the event loop
never touch a session.
"""

from __future__ import annotations

from pony.orm.core import OptimisticCheckError, TransactionIntegrityError, UnrepeatableReadError
from pony.orm.dbapiprovider import IntegrityError

from ..domain.errors import Conflict


def call(fn, db, *args, **kwargs):
    """Run one unit of work. A constraint that fires at commit (e.g. two clients
    creating the same name at once), or a row another transaction changed under this
    one (Pony's optimistic check), becomes a Conflict, not a server error."""
    try:
        return fn(db, *args, **kwargs)
    except (TransactionIntegrityError, IntegrityError, OptimisticCheckError,
            UnrepeatableReadError) as exc:
        raise Conflict("the change conflicts with existing data (a duplicate name, or a "
                       f"record that was changed meanwhile): {exc.__class__.__name__}") from None
