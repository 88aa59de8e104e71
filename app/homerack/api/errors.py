"""Domain errors rendered as Falcon-style JSON error bodies (title, description)."""

from __future__ import annotations

import falcon

from ..domain.errors import Conflict, DomainError, NotFound, ValidationFailed

_STATUS = {
    ValidationFailed: (falcon.HTTP_422, "Unprocessable Entity"),
    Conflict: (falcon.HTTP_409, "Conflict"),
    NotFound: (falcon.HTTP_404, "Not Found"),
}


async def handle_domain_error(req, resp, ex: DomainError, params) -> None:
    status, title = next(v for k, v in _STATUS.items() if isinstance(ex, k))
    body = {"title": title, "description": str(ex)}
    if isinstance(ex, ValidationFailed):
        body["errors"] = [{"field": p.field, "reason": p.reason} for p in ex.problems]
        body["error_count"] = ex.total
        body["error_count_exact"] = ex.exact
    resp.status = status
    resp.media = body


def register(app: falcon.asgi.App) -> None:
    app.add_error_handler(DomainError, handle_domain_error)
