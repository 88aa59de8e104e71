"""Health probes. Cheap and unauthenticated; they never reveal configuration."""

from __future__ import annotations

import falcon

from .. import __version__
from ..storage.database import pending_migrations


class HealthResource:
    public = True
    openapi = {"on_get": {"summary": "Overall health (cheap)", "tags": ["health"],
                          "security": []},
               "on_get_live": {"summary": "The process is alive (no dependencies)",
                               "tags": ["health"], "security": []},
               "on_get_ready": {"summary": "Ready for traffic: database reachable and its "
                                           "schema current (503 names what failed)",
                                "tags": ["health"], "security": [],
                                "responses": {"503": "not ready"}}}

    def __init__(self, rt):
        self.rt = rt

    async def on_get(self, req, resp) -> None:
        resp.media = {"status": "ok" if self.rt.db is not None else "starting",
                      "version": __version__}

    async def on_get_live(self, req, resp) -> None:
        resp.media = {"status": "ok"}

    async def on_get_ready(self, req, resp) -> None:
        checks = {"database": await self._database()}
        ready = all(v == "ok" for v in checks.values())
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {"status": "ready" if ready else "not ready", "checks": checks}

    async def _database(self) -> str:
        if self.rt.db is None:
            return "starting"
        try:
            pending = await self.rt.run(pending_migrations)
        except Exception as exc:  # any failure means "not ready"; the class name says why
            return f"unavailable ({exc.__class__.__name__})"
        return "ok" if not pending else f"schema out of date ({len(pending)} pending)"


def routes(rt) -> list[tuple]:
    resource = HealthResource(rt)
    return [("/api/health", resource, None), ("/api/health/live", resource, "live"),
            ("/api/health/ready", resource, "ready")]
