"""Bearer-token authentication and role checks; login and current-user routes."""

from __future__ import annotations

import falcon

from .. import security
from ..domain.schemas import LoginIn, Token, User, parse
from ..storage import users
from .common import json_body
from .limits import check_login

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_claims(req, secret: str) -> dict:
    """The verified claims of the request's bearer token; 401 when missing or invalid."""
    scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise falcon.HTTPUnauthorized(
            title="Authentication required",
            description="send 'Authorization: Bearer <token>' (POST /api/auth/login)",
            challenges=["Bearer"],
        )
    try:
        return security.read_token(secret, token.strip())
    except security.InvalidToken as exc:
        raise falcon.HTTPUnauthorized(
            title="Invalid token", description=str(exc), challenges=['Bearer error="invalid_token"']
        ) from None


async def verified_claims(req, rt) -> dict:
    """The claims of the request's bearer token, verified and still standing: its user
    exists, is active, and has the role and token epoch the token was issued with (a
    change of password, role or status bumps the epoch). 401 otherwise."""
    claims = bearer_claims(req, rt.config.jwt_secret)
    user_id = int(claims["sub"])
    try:
        state = rt.token_states[user_id]
    except KeyError:
        state = rt.token_states[user_id] = await rt.run(users.token_state, user_id)
    reason = security.revocation(claims, state)
    if reason is not None:
        raise falcon.HTTPUnauthorized(
            title="Token revoked", description=reason, challenges=['Bearer error="invalid_token"']
        )
    return claims


def require_role(claims: dict, needed: str, doing: str = "this") -> None:
    """403 unless the token's role is at least ``needed``."""
    if security.ROLE_RANK[claims["role"]] < security.ROLE_RANK[needed]:
        raise falcon.HTTPForbidden(
            title="Forbidden",
            description=f"{doing} needs the {needed} role; you are {claims['role']}",
        )


class AuthMiddleware:
    """Every /api route needs a valid token unless its resource says ``public = True``.

    Safe methods need the resource's ``read_role`` (default viewer), others its
    ``write_role`` (default editor). A change of the user's password, role or status
    revokes their tokens (see ``verified_claims``).
    """

    def __init__(self, rt):
        self.rt = rt

    async def process_resource(self, req, resp, resource, params) -> None:
        if resource is None or getattr(resource, "public", False) or req.method == "OPTIONS":
            return
        claims = await verified_claims(req, self.rt)
        needed = (
            getattr(resource, "read_role", "viewer")
            if req.method in _SAFE
            else getattr(resource, "write_role", "editor")
        )
        require_role(claims, needed)
        req.context.user = claims


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

    def __init__(self, rt):
        self.rt = rt

    async def on_post(self, req, resp) -> None:
        data = parse(LoginIn, await json_body(req))
        await check_login(self.rt, req.remote_addr, data.username)
        found = await self.rt.run(users.authenticate, data.username, data.password)
        if found is None:
            raise falcon.HTTPUnauthorized(
                title="Login failed",
                description="wrong username or password",
                challenges=["Bearer"],
            )
        user, epoch = found
        ttl = self.rt.config.jwt_ttl_seconds
        token = security.issue_token(
            self.rt.config.jwt_secret, user["id"], user["username"], user["role"], ttl, epoch
        )
        resp.media = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "user": user,
        }


class MeResource:
    openapi = {
        "on_get": {"summary": "The user the token belongs to", "tags": ["auth"], "response": User}
    }

    def __init__(self, rt):
        self.rt = rt

    async def on_get(self, req, resp) -> None:
        user = await self.rt.run(users.get_user, int(req.context.user["sub"]))
        if not user["active"]:
            raise falcon.HTTPUnauthorized(
                title="Account disabled",
                description="this account has been deactivated",
                challenges=["Bearer"],
            )
        resp.media = user
