"""Structured single-line logs and the request id.

Every line is one JSON object on stderr (journald keeps it under the unit), with the
request id of the request being served, so `journalctl -u homerack | grep <id>`
finds everything about one request. Nothing here logs headers, bodies, query strings
or tokens: no secret can reach the journal through these lines.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import time
import uuid

import orjson

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                        default=None)
# Accepted from X-Request-ID (e.g. nginx's $request_id) when it is this sane.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message"}

access_log = logging.getLogger("homerack.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                "logger": record.name, "msg": record.getMessage()}
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure(level: str | None = None) -> None:
    """JSON lines on stderr for the ``homerack`` loggers (idempotent). The level comes
    from HOMERACK_LOG_LEVEL (default info), like Gunicorn's own."""
    level = (level or os.environ.get("HOMERACK_LOG_LEVEL") or "info").upper()
    logger = logging.getLogger("homerack")
    if any(getattr(h, "_homerack", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._homerack = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


class RequestIdMiddleware:
    """Takes a sane ``X-Request-ID`` or makes one, echoes it, and logs the access line
    (when enabled: nginx usually logs the same request already)."""

    def __init__(self, access: bool = False):
        self.access = access

    async def process_request(self, req, resp) -> None:
        given = req.get_header("X-Request-ID")
        rid = given if given and _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        REQUEST_ID.set(rid)
        req.context.request_id = rid
        req.context.t0 = time.perf_counter()

    async def process_response(self, req, resp, resource, req_succeeded) -> None:
        rid = getattr(req.context, "request_id", None)
        if rid is None:
            return
        resp.set_header("X-Request-ID", rid)
        if self.access:
            user = getattr(req.context, "user", None)
            access_log.info("%s %s %s", req.method, req.path, resp.status_code, extra={
                "method": req.method, "route": req.uri_template or "unmatched",
                "status": resp.status_code, "client": req.remote_addr,
                "user": user["sub"] if user else None,
                "duration_ms": round((time.perf_counter() - req.context.t0) * 1000, 2)})
