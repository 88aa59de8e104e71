"""Per-client rate limits (GCRA in Redis, see ``homerack.cache``)."""

from __future__ import annotations

import math

import falcon


def too_many(wait: float, what: str) -> falcon.HTTPTooManyRequests:
    seconds = max(1, math.ceil(wait))
    return falcon.HTTPTooManyRequests(
        title="Too many requests", description=f"{what}; retry in {seconds} s", retry_after=seconds
    )


class RateLimitMiddleware:
    """The general limit, per client: the token's subject when authenticated (a user
    behind a shared address is not throttled by the household), else the address.
    Runs after authentication; health probes and /metrics (``rate_limited = False``)
    are exempt. Fails open when Redis is down."""

    def __init__(self, limiter, rate):
        self.limiter = limiter
        self.rate = rate  # HOMERACK_RATE_LIMIT

    async def process_resource(self, req, resp, resource, params) -> None:
        rate = self.rate
        if rate is None or resource is None or not getattr(resource, "rate_limited", True):
            return
        user = getattr(req.context, "user", None)
        client = f"user:{user['sub']}" if user else f"addr:{req.remote_addr}"
        wait = await self.limiter.hit("api", client, rate)
        if wait > 0:
            raise too_many(wait, f"rate limit of {rate} exceeded")


async def check_login(limiter, rate, address: str, username: str) -> None:
    """Login attempts, per client address and per username. Strict: without Redis a
    per-process limit still applies, so a Redis outage never opens the door to
    password guessing."""
    if rate is None:
        return
    waits = [
        await limiter.hit("login_addr", address, rate, strict=True),
        await limiter.hit("login_user", username, rate, strict=True),
    ]
    if max(waits) > 0:
        raise too_many(max(waits), "too many login attempts")
