"""/api/users: user management (admins only)."""

from __future__ import annotations

from ..domain.choices import ROLES
from ..domain.schemas import User, UserIn, UserPatch
from ..storage import users
from .common import Crud, CrudResource, Filter

CRUD = Crud(
    "user",
    "users",
    UserIn,
    users.list_users,
    users.create_user,
    users.get_user,
    users.update_user,
    users.delete_user,
    (Filter("role", str, "only this role", ROLES),),
    read_role="admin",
    write_role="admin",
    patch_model=UserPatch,
    out_model=User,
)


class UserResource(CrudResource):
    """A change of a user may revoke their tokens: this worker re-reads the user's token
    state at once (the others within HOMERACK_TOKEN_CHECK_SECONDS)."""

    async def on_patch_item(self, req, resp, id: int) -> None:
        try:
            await super().on_patch_item(req, resp, id)
        finally:
            self.rt.token_states.pop(id, None)

    async def on_delete_item(self, req, resp, id: int) -> None:
        try:
            await super().on_delete_item(req, resp, id)
        finally:
            self.rt.token_states.pop(id, None)


def routes(rt) -> list[tuple]:
    resource = UserResource(rt, CRUD)
    return [("/api/users", resource, None), ("/api/users/{id:int}", resource, "item")]
