"""Health probes. Cheap and unauthenticated; they never reveal configuration."""

from __future__ import annotations

from .. import __version__


class HealthResource:
    public = True
    openapi = {"on_get": {"summary": "Overall health (cheap)", "tags": ["health"],
                          "security": []},
               "on_get_live": {"summary": "The process is alive (no dependencies)",
                               "tags": ["health"], "security": []}}

    def __init__(self, rt):
        self.rt = rt

    async def on_get(self, req, resp) -> None:
        resp.media = {"status": "ok" if self.rt.db is not None else "starting",
                      "version": __version__}

    async def on_get_live(self, req, resp) -> None:
        resp.media = {"status": "ok"}


def routes(rt) -> list[tuple]:
    resource = HealthResource(rt)
    return [("/api/health", resource, None), ("/api/health/live", resource, "live")]
