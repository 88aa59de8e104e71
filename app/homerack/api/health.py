"""Health probes (Kubernetes-style). They never reveal configuration or secrets.

* ``/api/health``: cheap overall status, no dependency calls; the version and the
  release (``release.json`` of the deployment, or null).
* ``/api/health/live``: the process answers (restart it if not).
* ``/api/health/ready``: the database is reachable and this release can run on its
  schema (current, or ahead by expand-only migrations of a newer release); Redis is
  checked too, but HomeRack works without it, so Redis down only reports "degraded".
* ``/api/health/startup``: the worker booted (schema checked, pools created).
* ``/api/health/detailed`` and ``/api/health/cache/stats``: latencies, pool and cache
  figures, for admins or clients on HOMERACK_TRUSTED_NETWORKS (nginx keeps them off the
  public site).
"""

from __future__ import annotations

import ipaddress
import os
import time

import falcon

from .. import __version__, release
from ..domain.schemas import CacheStats, Health, HealthDetail, Live, Ready, Startup
from ..storage import DatabaseUnavailable
from ..storage.database import IncompatibleSchema, pending_migrations
from .openapi import OPTIONAL_AUTH

_PUBLIC = {"tags": ["health"], "security": []}
# Clients on HOMERACK_TRUSTED_NETWORKS need no token; others need an admin's.
_RESTRICTED = {
    "tags": ["health"],
    "security": OPTIONAL_AUTH,
    "description": (
        "Open to clients on HOMERACK_TRUSTED_NETWORKS without a token; others need an admin's "
        "token (403 otherwise)."
    ),
    "responses": {"403": "neither a trusted network nor an admin"},
}


class HealthResource:
    public = True  # the auth middleware skips it; detailed checks access itself
    rate_limited = False  # probes must never be throttled
    openapi = {
        "on_get": {"summary": "Overall health (cheap)", **_PUBLIC, "response": Health},
        "on_get_live": {
            "summary": "The process is alive (no dependencies)",
            **_PUBLIC,
            "response": Live,
        },
        "on_get_ready": {
            "summary": "Ready for traffic: database reachable and its schema "
            "current; Redis down only degrades",
            **_PUBLIC,
            "response": Ready,
            "responses": {"503": "not ready (the failing check)"},
        },
        "on_get_startup": {
            "summary": "The worker has booted",
            **_PUBLIC,
            "response": Startup,
            "responses": {"503": "still starting"},
        },
        "on_get_detailed": {
            "summary": "Version, uptime, latencies, pool and cache figures "
            "(admins or trusted networks)",
            **_RESTRICTED,
            "response": HealthDetail,
        },
        "on_get_cache_stats": {
            "summary": "Cache hits, misses, hit rate, keys and memory (admins or trusted networks)",
            **_RESTRICTED,
            "response": CacheStats,
        },
    }

    def __init__(self, rt):
        # The probes report on the worker's runtime as a whole (its public state only).
        self.rt = rt
        self.release = release.current()  # read once, at startup
        self.networks = [ipaddress.ip_network(n, strict=False) for n in rt.config.trusted_networks]

    async def on_get(self, req, resp) -> None:
        resp.media = {
            "status": "ok" if self.rt.db is not None else "starting",
            "version": __version__,
            "release": self.release,
        }

    async def on_get_live(self, req, resp) -> None:
        resp.media = {"status": "ok"}

    async def on_get_startup(self, req, resp) -> None:
        started = self.rt.db is not None
        resp.status = falcon.HTTP_200 if started else falcon.HTTP_503
        resp.media = {"status": "started" if started else "starting"}

    async def on_get_ready(self, req, resp) -> None:
        database, _ = await self._database()
        redis, _ = await self._redis()
        ready = database == "ok"
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {
            "status": ("ready" if redis in ("ok", "not configured") else "degraded")
            if ready
            else "not ready",
            "checks": {"database": database, "redis": redis},
        }

    async def on_get_detailed(self, req, resp) -> None:
        await self._allow(req)
        database, db_ms = await self._database()
        redis, redis_ms = await self._redis()
        rt = self.rt
        resp.media = {
            "version": __version__,
            "release": self.release,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - rt.started_at, 1) if rt.started_at else None,
            "database": {
                "status": database,
                "latency_ms": db_ms,
                "provider": rt.db.provider_name if rt.db else None,
                **rt.pool_stats(),
            },
            "redis": {"status": redis, "latency_ms": redis_ms},
            "optimizer": {
                "processes": rt.config.optimizer_processes,
                "pids": rt.optimizer.pids(),
                "running": rt.optimizer.running,
                "queued": rt.optimizer.pending - rt.optimizer.running,
            },
            "cache": await rt.cache.stats(),
        }

    async def on_get_cache_stats(self, req, resp) -> None:
        await self._allow(req)
        resp.media = await self.rt.cache.stats()

    async def _allow(self, req) -> None:
        """Trusted networks, or an admin's token."""
        try:
            if any(ipaddress.ip_address(req.remote_addr) in n for n in self.networks):
                return
        except ValueError:
            pass
        try:
            admin = (await self.rt.tokens.verified_claims(req))["role"] == "admin"
        except falcon.HTTPUnauthorized:
            admin = False
        if not admin:
            raise falcon.HTTPForbidden(
                title="Forbidden",
                description=(
                    "detailed health is for admins or clients on HOMERACK_TRUSTED_NETWORKS"
                ),
            )

    async def _database(self) -> tuple[str, float | None]:
        if self.rt.db is None:
            return "starting", None
        started = time.perf_counter()
        try:
            pending = await self.rt.run(pending_migrations)
        except IncompatibleSchema:  # a newer release contracted the schema under us
            return "schema incompatible (a newer release migrated it)", None
        except DatabaseUnavailable:  # unreachable, even on a fresh connection
            return "unavailable (no connection)", None
        except Exception as exc:  # any failure means "not ready"; the class name says why
            return f"unavailable ({exc.__class__.__name__})", None
        ms = round((time.perf_counter() - started) * 1000, 2)
        return ("ok" if not pending else f"schema out of date ({len(pending)} pending)"), ms

    async def _redis(self) -> tuple[str, float | None]:
        if not self.rt.config.redis_url:
            return "not configured", None
        ms = await self.rt.redis.ping()
        return ("ok", round(ms, 2)) if ms is not None else ("degraded (unreachable)", None)


def routes(rt) -> list[tuple]:
    resource = HealthResource(rt)
    return [("/api/health", resource, None)] + [
        (f"/api/health/{name.replace('_', '/')}", resource, name)
        for name in ("live", "ready", "startup", "detailed", "cache_stats")
    ]
