"""Role checks, declared on the responders that need them (Falcon hooks)."""

from __future__ import annotations

import falcon

from .. import security


def check_role(claims: dict, needed: str, doing: str = "this") -> None:
    """403 unless the token's role is at least ``needed``."""
    if security.ROLE_RANK[claims["role"]] < security.ROLE_RANK[needed]:
        raise falcon.HTTPForbidden(
            title="Forbidden",
            description=f"{doing} needs the {needed} role; you are {claims['role']}",
        )


def require_role(needed: str):
    """Declare the role a responder needs, on the responder (or on a class: all of its
    responders). A Falcon hook: it runs after the authentication middleware.

    Every user is at least a viewer, so reads need no declaration; every responder that
    changes something must have one (``check_declared_roles`` refuses an app without).
    """

    async def hook(req, resp, resource, params) -> None:
        check_role(req.context.user, needed)

    before = falcon.before(hook)

    def declare(target):
        target = before(target)
        responders = (
            [f for n, f in vars(target).items() if n.startswith("on_")]
            if isinstance(target, type)
            else [target]
        )
        for responder in responders:
            responder.roles = (*getattr(responder, "roles", ()), needed)
        return target

    return declare


def check_declared_roles(routes) -> None:
    """At app build: every responder that changes something declares its role."""
    for path, resource, suffix in routes:
        if getattr(resource, "public", False):
            continue
        for method in ("post", "put", "patch", "delete"):
            responder = getattr(resource, f"on_{method}" + (f"_{suffix}" if suffix else ""), None)
            if responder is not None and not getattr(responder, "roles", ()):
                raise TypeError(f"{method.upper()} {path} declares no role (auth.require_role)")
