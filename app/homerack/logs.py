"""Structured single-line logs and the request id.

Every line is one JSON object on stderr (journald keeps it under the unit), the app's
and Gunicorn's and uvicorn's alike (gunicorn_conf.py routes theirs here), with the
request id of the request being served, so `journalctl -u homerack | grep <id>` finds
everything about one request. A traceback goes into the line's "exc" field, never onto
lines of its own. Nothing here logs headers, bodies, query strings or tokens: no secret
can reach the journal through these lines.

When stderr is the journal's stream (systemd sets JOURNAL_STREAM=<dev>:<inode> to it),
each line starts with the syslog priority, ``<3>{...}`` for an error: journald takes it
as the entry's priority and strips it (SyslogLevelPrefix=, on by default), so
`journalctl -p warning` shows warnings and errors only.
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

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Accepted from X-Request-ID (e.g. nginx's $request_id) when it is this sane.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
# Record attributes that are not extra fields; uvicorn's color_message repeats msg with
# terminal colours.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "color_message"}

access_log = logging.getLogger("homerack.access")


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level: critical 2, error 3, warning 4, info 6,
    debug 7 (levels in between take the next lower one's)."""
    for threshold, priority in (
        (logging.CRITICAL, 2),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (logging.INFO, 6),
    ):
        if levelno >= threshold:
            return priority
    return 7


def journal_stream(stream=None) -> bool:
    """Whether ``stream`` (stderr) is the journal stream systemd connected: its device
    and inode match JOURNAL_STREAM. Inherited by a child whose stderr went elsewhere
    (a file, a pipe), the variable alone would be wrong."""
    try:
        dev, ino = (int(x) for x in os.environ["JOURNAL_STREAM"].split(":"))
        st = os.fstat((stream or sys.stderr).fileno())
    except (KeyError, ValueError, OSError, AttributeError):  # io.UnsupportedOperation too
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ``syslog_prefix`` puts ``<N>`` in front (None: when
    stderr is the journal)."""

    def __init__(self, syslog_prefix: bool | None = None):
        super().__init__()
        self.syslog_prefix = journal_stream() if syslog_prefix is None else syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        # rstrip: uvicorn ends "Exception in ASGI application\n" with a newline.
        line = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage().rstrip(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        text = orjson.dumps(line, default=str).decode()  # escapes newlines: one line
        return f"<{syslog_priority(record.levelno)}>{text}" if self.syslog_prefix else text


def stderr_handler() -> logging.Handler:
    """The one handler every logger of the process goes through (a dictConfig factory:
    gunicorn_conf.py names it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._homerack = True  # type: ignore[attr-defined]
    return handler


def _level(level: str | None) -> str:
    return (level or os.environ.get("HOMERACK_LOG_LEVEL") or "info").upper()


def gunicorn_logconfig(level: str | None = None) -> dict:
    """Gunicorn's ``logconfig_dict``: the root logger, gunicorn.error (and so
    uvicorn.error, which the uvicorn worker points at the same handlers) all write JSON
    lines through one stderr handler. gunicorn.access (and uvicorn.access) stay silent:
    the app writes its own access line (HOMERACK_ACCESS_LOG)."""
    level = _level(level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {},
        "handlers": {"stderr": {"()": "homerack.logs.stderr_handler"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }


def configure(level: str | None = None) -> None:
    """JSON lines on stderr for every logger, through the root logger (idempotent: under
    Gunicorn, gunicorn_conf.py has installed the handler already). Python warnings become
    log records too. The level comes from HOMERACK_LOG_LEVEL (default info), like
    Gunicorn's own."""
    level = _level(level)
    root = logging.getLogger()
    if not any(getattr(h, "_homerack", False) for h in root.handlers):
        root.addHandler(stderr_handler())
        root.setLevel(level)
    logging.getLogger("homerack").setLevel(level)
    logging.captureWarnings(True)
    # A record that finds no handler (its logger's propagation cut off by some other
    # logging setup) goes to logging.lastResort, which writes plain text: a traceback
    # over many journal lines. Make that the same single JSON line.
    if not getattr(logging.lastResort, "_homerack", False):
        last = stderr_handler()
        last.setLevel(logging.WARNING)  # as the default last resort
        logging.lastResort = last


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
            access_log.info(
                "%s %s %s",
                req.method,
                req.path,
                resp.status_code,
                extra={
                    "method": req.method,
                    "route": req.uri_template or "unmatched",
                    "status": resp.status_code,
                    "client": req.remote_addr,
                    "user": user["sub"] if user else None,
                    "duration_ms": round((time.perf_counter() - req.context.t0) * 1000, 2),
                },
            )
