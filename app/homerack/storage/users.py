"""Units of work for users and logins."""

from __future__ import annotations

import secrets

from pony.orm import db_session

from .. import security
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.schemas import UserIn, UserPatch, parse
from .common import get_or_404, page
from .connection import read_only


def user_dict(u) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "active": u.active}


@db_session
def authenticate(db, username: str, password: str) -> tuple[dict, int] | None:
    """The user and their token epoch if the password matches an active account, else
    None (same cost either way)."""
    user = db.User.get(username=username.lower())
    if not security.verify_password(user.password_hash if user else None, password):
        return None
    if not user.active:
        return None
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    return user_dict(user), user.token_epoch


@read_only
def token_state(db, user_id: int) -> security.TokenState | None:
    """What a token of ``user_id`` is checked against; None if the user is gone."""
    user = db.User.get(id=user_id)
    return None if user is None else security.TokenState(user.token_epoch, user.role, user.active)


@read_only
def list_users(db, limit: int, offset: int, role: str | None = None) -> dict:
    query = db.User.select()
    if role:
        query = query.filter(lambda u: u.role == role)
    return page(query.order_by(lambda u: u.username), limit, offset, user_dict)


@read_only
def get_user(db, user_id: int) -> dict:
    return user_dict(get_or_404(db.User, user_id, "user"))


@db_session
def create_user(db, data: UserIn) -> dict:
    if db.User.exists(username=data.username):
        raise Conflict(f"a user named '{data.username}' already exists")
    user = db.User(
        username=data.username,
        password_hash=security.hash_password(data.password),
        role=data.role,
        active=data.active,
    )
    db.flush()
    return user_dict(user)


def _lock_admins(db) -> list[int]:
    """Lock the active admins' rows and return their ids. Taken before the target row,
    in id order, by every user change: two transactions that each demote one of the
    last two admins then run one after the other, and the second sees the first's
    commit (locking only the target let both pass and left no admin)."""
    return [
        u.id
        for u in db.User.select(lambda u: u.role == "admin" and u.active)
        .order_by(lambda u: u.id)
        .for_update()
    ]


def _last_admin(admins: list[int], user) -> bool:
    return admins == [user.id]


@db_session
def update_user(db, user_id: int, patch: dict) -> dict:
    admins = _lock_admins(db)
    user = get_or_404(db.User, user_id, "user", for_update=True)
    data = parse(UserPatch, patch)
    if (data.role not in (None, "admin") or data.active is False) and _last_admin(admins, user):
        raise ValidationFailed.one(
            "role" if data.role else "active",
            "this is the last active admin; promote another user first",
        )
    revoke = False
    if data.password is not None:
        user.password_hash = security.hash_password(data.password)
        revoke = True
    if data.role is not None and data.role != user.role:
        user.role = data.role
        revoke = True
    if data.active is not None and data.active != user.active:
        user.active = data.active
        revoke = True
    if revoke:  # the user's tokens carry the old facts: refuse them from now on
        user.token_epoch += 1
    return user_dict(user)


@db_session
def delete_user(db, user_id: int) -> None:
    admins = _lock_admins(db)
    user = get_or_404(db.User, user_id, "user", for_update=True)
    if _last_admin(admins, user):
        raise Conflict("this is the last active admin; promote another user first")
    user.delete()


@read_only
def find_user(db, username: str) -> dict:
    user = db.User.get(username=username.lower())
    if user is None:
        raise NotFound("user", f"'{username}'")
    return user_dict(user)


@db_session
def create_first_admin(db, username: str) -> str | None:
    """On a database with no users, create an admin with a random password and return
    the password (there is no default password); otherwise do nothing."""
    if db.User.select().exists():
        return None
    password = secrets.token_urlsafe(12)
    db.User(username=username, password_hash=security.hash_password(password), role="admin")
    return password
