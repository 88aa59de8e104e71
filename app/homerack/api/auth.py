"""Bearer tokens (issue, verify, revoke) and authentication; login and current-user routes."""

from __future__ import annotations

import time

import falcon
from cachetools import FIFOCache, TTLCache

from .. import security
from ..domain.schemas import LoginIn, Token, User, parse
from ..storage import users
from .common import json_body
from .limits import check_login


def bearer_token(req) -> str:
    """The request's bearer token; 401 when there is none."""
    scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise falcon.HTTPUnauthorized(
            title="Authentication required",
            description="send 'Authorization: Bearer <token>' (POST /api/auth/login)",
            challenges=["Bearer"],
        )
    return token.strip()


def read_claims(secret: str, token: str) -> dict:
    """The verified claims of ``token``; 401 when invalid."""
    try:
        return security.read_token(secret, token)
    except security.InvalidToken as exc:
        raise falcon.HTTPUnauthorized(
            title="Invalid token", description=str(exc), challenges=['Bearer error="invalid_token"']
        ) from None


class Tokens:
    """Issues bearer tokens and verifies them against their user's current state.

    A token stands while its user exists, is active, and has the role and token epoch
    the token was issued with (a change of password, role or status bumps the epoch).
    Each worker re-reads a user's state at most every ``check_seconds``.

    A token's signature and claims are checked once per worker: a token that passed is
    remembered (by its full text, signature included) with its claims, and only its
    expiry is checked again on later requests. Verifying with PyJWT cost ~45 us a
    request, as much as the rest of a cached read.
    """

    def __init__(self, run, *, secret: str, ttl_seconds: int, check_seconds: int):
        self.run = run
        self.secret = secret
        self.ttl_seconds = ttl_seconds
        # user id -> TokenState (None: no such user); only the event loop touches it.
        self.states: TTLCache = TTLCache(maxsize=10_000, ttl=max(check_seconds, 0.001))
        # token -> its verified claims (the oldest forgotten first); only the event loop
        # touches it.
        self.verified: FIFOCache = FIFOCache(maxsize=10_000)

    def issue(self, user: dict, epoch: int) -> str:
        return security.issue_token(
            self.secret, user["id"], user["username"], user["role"], self.ttl_seconds, epoch
        )

    async def verified_claims(self, req) -> dict:
        """The claims of the request's bearer token, verified and still standing; 401
        otherwise."""
        claims = self._claims(bearer_token(req))
        user_id = int(claims["sub"])
        try:
            state = self.states[user_id]
        except KeyError:
            state = self.states[user_id] = await self.run(users.token_state, user_id)
        reason = security.revocation(claims, state)
        if reason is not None:
            raise falcon.HTTPUnauthorized(
                title="Token revoked",
                description=reason,
                challenges=['Bearer error="invalid_token"'],
            )
        return claims

    def _claims(self, token: str) -> dict:
        """The verified claims of ``token`` (read once, then remembered until it expires)."""
        claims = self.verified.get(token)
        if claims is not None:
            # PyJWT's test: expired once the current whole second reaches "exp".
            if claims["exp"] > int(time.time()):
                return claims
            del self.verified[token]
        claims = read_claims(self.secret, token)  # raises 401 (expired, invalid)
        self.verified[token] = claims
        return claims

    def forget(self, user_id: int) -> None:
        """Re-read the user's state on their next request (their tokens may be revoked)."""
        self.states.pop(user_id, None)


class AuthMiddleware:
    """Every /api route needs a valid token unless its resource says ``public = True``.
    The roles are declared on the responders (``require_role``)."""

    def __init__(self, tokens: Tokens):
        self.tokens = tokens

    async def process_resource(self, req, resp, resource, params) -> None:
        if resource is None or getattr(resource, "public", False) or req.method == "OPTIONS":
            return
        req.context.user = await self.tokens.verified_claims(req)


class LoginResource:
    public = True
    openapi = {
        "on_post": {
            "summary": "Exchange a username and password for a bearer token",
            "tags": ["auth"],
            "body": LoginIn,
            "security": [],
            "response": Token,
            "responses": {
                "200": "token issued",
                "401": "wrong username or password",
                "429": "too many attempts (see Retry-After)",
            },
        }
    }

    def __init__(self, run, tokens: Tokens, limiter, rate):
        self.run = run
        self.tokens = tokens
        self.limiter = limiter
        self.rate = rate  # HOMERACK_LOGIN_RATE_LIMIT

    async def on_post(self, req, resp) -> None:
        data = parse(LoginIn, await json_body(req))
        await check_login(self.limiter, self.rate, req.remote_addr, data.username)
        found = await self.run(users.authenticate, data.username, data.password)
        if found is None:
            raise falcon.HTTPUnauthorized(
                title="Login failed",
                description="wrong username or password",
                challenges=["Bearer"],
            )
        user, epoch = found
        resp.media = {
            "access_token": self.tokens.issue(user, epoch),
            "token_type": "Bearer",
            "expires_in": self.tokens.ttl_seconds,
            "user": user,
        }


class MeResource:
    openapi = {
        "on_get": {"summary": "The user the token belongs to", "tags": ["auth"], "response": User}
    }

    def __init__(self, run):
        self.run = run

    async def on_get(self, req, resp) -> None:
        user = await self.run(users.get_user, int(req.context.user["sub"]))
        if not user["active"]:
            raise falcon.HTTPUnauthorized(
                title="Account disabled",
                description="this account has been deactivated",
                challenges=["Bearer"],
            )
        resp.media = user
