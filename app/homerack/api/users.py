"""/api/users: user management (admins only)."""

from __future__ import annotations

from ..domain.choices import ROLES
from ..domain.schemas import User, UserIn, UserPatch
from ..storage import users
from .common import Crud, CrudResource, Filter, crud_routes
from .roles import require_role

CRUD = Crud(
    kind="user",
    plural="users",
    model=UserIn,
    list=users.list_users,
    create=users.create_user,
    get=users.get_user,
    update=users.update_user,
    delete=users.delete_user,
    filters=(Filter("role", str, "only this role", ROLES),),
    patch_model=UserPatch,
    out_model=User,
)


@require_role("admin")
class UserResource(CrudResource):
    """Admins only. A change of a user may revoke their tokens: this worker re-reads the
    user's token state at once (the others within HOMERACK_TOKEN_CHECK_SECONDS)."""

    def __init__(self, run, cache, crud: Crud, tokens):
        super().__init__(run, cache, crud)
        self.tokens = tokens

    async def on_patch_item(self, req, resp, id: int) -> None:
        try:
            await super().on_patch_item(req, resp, id)
        finally:
            self.tokens.forget(id)

    async def on_delete_item(self, req, resp, id: int) -> None:
        try:
            await super().on_delete_item(req, resp, id)
        finally:
            self.tokens.forget(id)


def routes(rt) -> list[tuple]:
    return crud_routes("/api/users", UserResource(rt.run, rt.cache, CRUD, rt.tokens))
