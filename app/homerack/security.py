"""Password hashing (argon2id via argon2-cffi) and bearer tokens (PyJWT, HS256)."""

from __future__ import annotations

import time
from typing import NamedTuple

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .domain.choices import ROLES

ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
_ALGORITHM = "HS256"
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Verified against when the user does not exist, so both paths cost one argon2 run
# and response time does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("homerack-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def issue_token(
    secret: str, user_id: int, username: str, role: str, ttl_seconds: int, epoch: int = 0
) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "name": username,
        "role": role,
        "iat": now,
        "exp": now + ttl_seconds,
        "epoch": epoch,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


class InvalidToken(Exception):
    pass


def read_token(secret: str, token: str) -> dict:
    """The verified claims of ``token``; raises InvalidToken with a reason."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub", "role"]}
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.PyJWTError:
        raise InvalidToken("the token is invalid") from None
    epoch = claims.get("epoch", 0)
    role = claims.get("role")
    if (
        not isinstance(role, str)
        or role not in ROLE_RANK
        or not _is_id(claims.get("sub"))
        or type(epoch) is not int
    ):  # bool is an int subclass: refuse it too
        raise InvalidToken("the token is invalid")
    return claims


def _is_id(sub) -> bool:
    return isinstance(sub, str) and sub.isascii() and sub.isdigit() and 0 < int(sub) < 2**31


class TokenState(NamedTuple):
    """The stored facts a token is checked against on every request."""

    epoch: int
    role: str
    active: bool


def revocation(claims: dict, state: TokenState | None) -> str | None:
    """Why the token with ``claims`` no longer stands, given its user's ``state`` (None:
    the user is gone); None if it stands. Tokens without an epoch (issued before
    revocation existed) count as epoch 0."""
    if state is None:
        return "the account no longer exists"
    if not state.active:
        return "this account has been deactivated"
    if state.epoch != claims.get("epoch", 0) or state.role != claims["role"]:
        return (
            "the account's password, role or status changed after this token was "
            "issued; sign in again"
        )
    return None
