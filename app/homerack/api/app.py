"""The application factory."""

from __future__ import annotations

import json

import falcon
import falcon.asgi
import orjson

from ..cache import json_bytes
from ..config import Config, load_config
from ..logs import RequestIdMiddleware
from ..metrics import MetricsMiddleware, MetricsResource
from . import (
    auth,
    brands,
    device_types,
    devices,
    errors,
    health,
    layout,
    limits,
    logos,
    racks,
    transfer,
    ui,
    users,
)
from .common import BoundedInt
from .openapi import OpenApiResource, build
from .roles import check_declared_roles
from .runtime import Runtime


def _unique_keys(pairs: list[tuple]) -> dict:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen: set = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key[:40]!r} in a JSON object")
            seen.add(key)
    return doc


def _loads(text: str):
    """A request body: orjson refuses NaN, infinities, lone surrogates and nesting past
    1024; a second pass refuses duplicate keys, which orjson silently merges (the last
    one wins, and a check may have read the first)."""
    doc = orjson.loads(text)
    try:
        json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:  # deeper than Python's stack, within orjson's 1024
        raise ValueError("the JSON document is nested too deeply") from None
    return doc


def create_app(config: Config | None = None) -> falcon.asgi.App:
    """Build the ASGI app. Nothing here touches the database: per-worker resources
    (DB binding, thread pool) are created in the lifespan startup, after the fork."""
    config = config or load_config()
    rt = Runtime(config)
    # Metrics first so they time everything; the rate limit after auth, which names
    # the client.
    middleware: list = [
        MetricsMiddleware(),
        RequestIdMiddleware(config.access_log),
        rt,
        auth.AuthMiddleware(rt.tokens),
        limits.RateLimitMiddleware(rt.limiter, config.rate_limit),
    ]
    if config.cors_origins:
        middleware.insert(
            2,
            falcon.CORSMiddleware(
                allow_origins=list(config.cors_origins),
                expose_headers=["Location", "Retry-After", "X-Request-ID", "Content-Disposition"],
            ),
        )  # the BOM CSV's file name
    app = falcon.asgi.App(middleware=middleware)

    app.req_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=json_bytes, loads=_loads
    )
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=json_bytes, loads=orjson.loads
    )
    app.req_options.strip_url_path_trailing_slash = True
    app.router_options.converters["int"] = BoundedInt  # before any route is added
    errors.register(app)

    openapi = OpenApiResource()
    routes = [
        *health.routes(rt),
        (
            "/api/auth/login",
            auth.LoginResource(rt.run, rt.tokens, rt.limiter, config.login_rate_limit),
            None,
        ),
        ("/api/auth/me", auth.MeResource(rt.run), None),
        *brands.routes(rt),
        *device_types.routes(rt),
        *racks.routes(rt),
        *layout.routes(rt),
        *devices.routes(rt),
        *users.routes(rt),
        *transfer.routes(rt),
        ("/api/openapi.json", openapi, None),
        ("/metrics", MetricsResource(), None),
    ]
    check_declared_roles(routes)
    for path, resource, suffix in routes:
        app.add_route(path, resource, suffix=suffix)
    openapi.document = build(routes)
    # Files, not part of the API document: the web UI (nginx serves it from disk in
    # production) and the brand logos (from the database; nginx caches them).
    for path, resource, suffix in (*ui.routes(), *logos.routes(rt)):
        app.add_route(path, resource, suffix=suffix)
    return app
