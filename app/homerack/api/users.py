"""/api/users: user management (admins only)."""

from __future__ import annotations

from ..domain.schemas import ROLES, UserIn, UserPatch
from ..storage import users
from .common import Crud, Filter, crud_routes

CRUD = Crud("user", "users", UserIn, users.list_users, users.create_user, users.get_user,
            users.update_user, users.delete_user, (Filter("role", str, "only this role", ROLES),),
            read_role="admin", write_role="admin", patch_model=UserPatch)


def routes(rt) -> list[tuple]:
    return crud_routes(rt, "/api/users", CRUD)
