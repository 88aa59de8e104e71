"""Prometheus metrics, correct with several Gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set in the service environment (systemd's
RuntimeDirectory, so it starts empty), prometheus-client keeps each worker's values in
mmap files there and ``/metrics`` sums them with a fresh registry per scrape. Without it
(tests, ``homerack serve``) the process's default registry is served.
Labels stay few and bounded: routes are Falcon's URI templates, never raw paths.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from . import __version__

# Edges at 1, 2 and 2.5 s: the latency alert fires on a p95 above 2 s, and
# histogram_quantile() is only exact at a bucket edge.
_LATENCY = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10)

REQUESTS = Counter(
    "homerack_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "homerack_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=_LATENCY,
)
IN_FLIGHT = Gauge(
    "homerack_http_requests_in_flight", "HTTP requests being served", multiprocess_mode="livesum"
)
DB_SESSION = Histogram(
    "homerack_db_session_duration_seconds",
    "Database units of work (queue wait included)",
    ["operation"],
    buckets=_LATENCY,
)
# A lost database connection (PostgreSQL restarted, a backend terminated, the network
# reset): a pool thread opened a fresh one, a unit of work was run once more, or the
# request got a 503 because the database stayed unreachable (storage.call, api/errors.py).
DB_RECONNECTS = Counter(
    "homerack_db_reconnects", "Pool connections opened again after the previous one was lost"
)
DB_RETRIES = Counter(
    "homerack_db_retries",
    "Units of work run once more after losing their connection",
    ["operation"],
)
DB_UNAVAILABLE = Counter(
    "homerack_db_unavailable",
    "Units of work that failed because the database was unavailable (the request answered 503)",
    ["operation"],
)
CACHE = Counter("homerack_cache_requests", "Cache lookups", ["namespace", "result"])
RATE_LIMITED = Counter("homerack_rate_limited", "Requests refused by a rate limit", ["limit"])
REDIS_ERRORS = Counter("homerack_redis_errors", "Failed or skipped Redis calls", ["op"])
OPTIMIZER_RUNS = Counter("homerack_optimizer_runs", "Optimizer runs", ["outcome"])
OPTIMIZER_SECONDS = Histogram(
    "homerack_optimizer_duration_seconds",
    "Optimizer run time",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OPTIMIZER_IN_PROGRESS = Gauge(
    "homerack_optimizer_runs_in_progress",
    "Optimizer runs waiting for a process (queued) or running",
    ["state"],
    multiprocess_mode="livesum",
)
# Each worker sets 1 when its lifespan starts; livesum drops dead workers' values, so the
# sum is the number of workers serving (Prometheus alerts and the dashboard read it).
WORKERS = Gauge("homerack_workers", "Gunicorn workers serving", multiprocess_mode="livesum")
BUILD = Gauge(
    "homerack_build_info", "The running HomeRack version", ["version"], multiprocess_mode="max"
)
BUILD.labels(__version__).set(1)


def render() -> tuple[bytes, str]:
    """The exposition text of every worker (multiprocess mode) or of this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every request by method, route template and final status."""

    async def process_request(self, req, resp) -> None:
        req.context.started = time.perf_counter()
        IN_FLIGHT.inc()

    async def process_response(self, req, resp, resource, req_succeeded) -> None:
        started = getattr(req.context, "started", None)
        if started is None:
            return
        IN_FLIGHT.dec()
        route = req.uri_template or "unmatched"
        REQUESTS.labels(req.method, route, str(resp.status_code)).inc()
        LATENCY.labels(req.method, route).observe(time.perf_counter() - started)


class MetricsResource:
    """``GET /metrics``. Public to the app; nginx only exposes it on its internal port."""

    public = True
    rate_limited = False
    openapi = {
        "on_get": {
            "summary": "Prometheus metrics (text exposition format)",
            "tags": ["meta"],
            "security": [],
            "content_type": "text/plain",
        }
    }

    async def on_get(self, req, resp) -> None:
        resp.data, resp.content_type = render()
