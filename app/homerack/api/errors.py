"""Errors rendered as Falcon-style JSON error bodies (title, description): domain errors,
an unavailable database (503), and anything unexpected (500, logged as one JSON line)."""

from __future__ import annotations

import logging

import falcon

from ..domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from ..logs import REQUEST_ID
from ..storage import DatabaseUnavailable

log = logging.getLogger("homerack")

_STATUS = {
    ValidationFailed: (falcon.HTTP_422, "Unprocessable Entity"),
    Conflict: (falcon.HTTP_409, "Conflict"),
    NotFound: (falcon.HTTP_404, "Not Found"),
}
# Seconds a client should wait before trying again: PostgreSQL restarts in a few, and
# every request tries a fresh connection, so the first one after it is back succeeds.
DB_RETRY_AFTER_S = 2


async def handle_domain_error(req, resp, ex: DomainError, params) -> None:
    status, title = next(v for k, v in _STATUS.items() if isinstance(ex, k))
    body: dict[str, object] = {"title": title, "description": str(ex)}
    if isinstance(ex, ValidationFailed):
        body["errors"] = [{"field": p.field, "reason": p.reason} for p in ex.problems]
        body["error_count"] = ex.total
        body["error_count_exact"] = ex.exact
    resp.status = status
    resp.media = body


def _unavailable_description(ex: DatabaseUnavailable) -> str:
    if ex.maybe_committed:
        return (
            "the database became unavailable while saving: the change may or may not "
            "have been saved; check before sending it again"
        )
    if ex.kind == "write":
        return "the database is unavailable; nothing was saved; retry shortly"
    return "the database is unavailable; retry shortly"


async def handle_database_unavailable(req, resp, ex: DatabaseUnavailable, params) -> None:
    """503 with Retry-After, one warning line (no traceback: an outage is not a bug)."""
    log.warning(
        "database unavailable: %s %s answered 503",
        req.method,
        req.uri_template or "unmatched",
        extra={
            "operation": ex.operation,
            "error": ex.reason,
            "maybe_committed": ex.maybe_committed,
        },
    )
    raise falcon.HTTPServiceUnavailable(
        title="Service Unavailable",
        description=_unavailable_description(ex),
        retry_after=DB_RETRY_AFTER_S,
    )


async def handle_unexpected(req, resp, ex: Exception, params) -> None:
    """Replaces Falcon's default handler of any other exception: the same 500, but logged
    on the app's logger as one JSON line (traceback in its "exc" field) with the route,
    and the request id in the body so that a user's report finds the line."""
    log.error(
        "unexpected error in %s %s",
        req.method,
        req.uri_template or "unmatched",
        exc_info=(type(ex), ex, ex.__traceback__),
        extra={"method": req.method, "route": req.uri_template or "unmatched"},
    )
    rid = REQUEST_ID.get()
    raise falcon.HTTPInternalServerError(
        description="an unexpected error; the server log has it"
        + (f" under request id {rid}" if rid else "")
    )


def register(app: falcon.asgi.App) -> None:
    # Falcon picks the handler of the most specific class: HTTPError and HTTPStatus keep
    # their own, so this Exception handler only sees what nothing else handles.
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(DomainError, handle_domain_error)
    app.add_error_handler(DatabaseUnavailable, handle_database_unavailable)
