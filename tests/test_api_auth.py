"""Login, tokens, roles and user management."""

import asyncio
import dataclasses
import time

import falcon.testing
import jwt
import pytest
from helpers import JWT_SECRET, USER_IDS, Api, token

PASSWORD = "correct horse battery"


async def _user(api, name="alice", role="editor", password=PASSWORD, active=True):
    return await api.create(
        "/api/users", {"username": name, "password": password, "role": role, "active": active}
    )


async def _login(api, username, password):
    return await api.post(
        "/api/auth/login", role=None, json={"username": username, "password": password}
    )


async def test_login_issues_a_working_token(api):
    user = await _user(api, "Alice")
    assert user["username"] == "alice"
    result = await _login(api, "ALICE", PASSWORD)
    assert result.status_code == 200
    body = result.json
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["user"] == user
    me = await api.get(
        "/api/auth/me", role=None, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200 and me.json["username"] == "alice"
    # The token's role is enforced: editors may write.
    write = await api.post(
        "/api/racks",
        role=None,
        json={"name": "R", "u_height": 4},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert write.status_code == 201


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)]
)
async def test_login_failures_are_401_and_say_the_same(api, username, password):
    await _user(api)
    result = await _login(api, username, password)
    assert result.status_code == 401
    assert result.json["description"] == "wrong username or password"
    assert "access_token" not in result.text


async def test_inactive_user_cannot_log_in(api):
    await _user(api, active=False)
    assert (await _login(api, "alice", PASSWORD)).status_code == 401


async def test_login_validates_its_body(api):
    result = await api.post("/api/auth/login", role=None, json={"username": "a"})
    assert result.status_code == 422 and result.json["errors"][0]["field"] == "password"


async def test_missing_token_is_401_with_challenge(api):
    result = await api.get("/api/racks", role=None)
    assert result.status_code == 401
    assert result.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Basic YWxpY2U6cHc=",
        "Bearer "
        + jwt.encode(
            {"sub": "1", "role": "admin", "exp": int(time.time()) + 60},
            "another-secret-another-secret-xx",
            algorithm="HS256",
        ),
        "Bearer "
        + jwt.encode(
            {"sub": "1", "role": "root", "exp": int(time.time()) + 60},
            JWT_SECRET,
            algorithm="HS256",
        ),
        "Bearer " + jwt.encode({"sub": "1", "role": "admin"}, JWT_SECRET, algorithm="HS256"),
    ],
)
async def test_invalid_tokens_are_401(api, header):
    result = await api.get("/api/racks", role=None, headers={"Authorization": header})
    assert result.status_code == 401


async def test_expired_token_is_401_and_says_so(api):
    expired = jwt.encode(
        {"sub": "1", "role": "admin", "exp": int(time.time()) - 5}, JWT_SECRET, algorithm="HS256"
    )
    result = await api.get("/api/racks", role=None, headers={"Authorization": f"Bearer {expired}"})
    assert result.status_code == 401 and "expired" in result.json["description"]


async def test_alg_none_token_is_rejected(api):
    forged = jwt.encode(
        {"sub": "1", "role": "admin", "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    result = await api.get("/api/racks", role=None, headers={"Authorization": f"Bearer {forged}"})
    assert result.status_code == 401


async def test_viewer_reads_but_cannot_write(api, lab):
    assert (await api.get("/api/racks", role="viewer")).status_code == 200
    result = await api.post("/api/racks", role="viewer", json={"name": "R", "u_height": 4})
    assert result.status_code == 403 and "editor" in result.json["description"]
    assert (await api.delete(f"/api/devices/{lab['sw']['id']}", role="viewer")).status_code == 403
    assert (await api.get("/api/racks")).json["total"] == 1


async def test_only_admins_manage_users_and_import(api):
    assert (await api.get("/api/users", role="editor")).status_code == 403
    result = await api.post(
        "/api/users", role="editor", json={"username": "eve", "password": PASSWORD, "role": "admin"}
    )
    assert result.status_code == 403
    doc = {"format": "homerack-inventory", "version": 1}
    assert (await api.post("/api/import", role="editor", json=doc)).status_code == 403
    assert (await api.get("/api/export", role="viewer")).status_code == 200


async def test_a_changing_route_without_a_declared_role_is_refused_at_build():
    """A write responder with no ``require_role`` would be open to viewers: the app
    refuses to start with one."""
    from homerack.api.roles import check_declared_roles, require_role

    class Undeclared:
        async def on_get(self, req, resp): ...

        async def on_delete_item(self, req, resp, id): ...

    class Declared(Undeclared):
        on_delete_item = require_role("editor")(Undeclared.on_delete_item)

    with pytest.raises(TypeError, match=r"DELETE /x/\{id:int\} declares no role"):
        check_declared_roles([("/x", Undeclared(), None), ("/x/{id:int}", Undeclared(), "item")])
    check_declared_roles([("/x", Declared(), None), ("/x/{id:int}", Declared(), "item")])


async def test_public_routes_need_no_token(api):
    for path in ("/api/health", "/api/health/live", "/api/health/ready", "/api/openapi.json"):
        assert (await api.get(path, role=None)).status_code == 200, path


async def test_user_validation_and_conflicts(api):
    await _user(api)
    dup = await api.post("/api/users", json={"username": "ALICE", "password": PASSWORD})
    assert dup.status_code == 409
    short = await api.post("/api/users", json={"username": "bob", "password": "short"})
    assert short.status_code == 422 and short.json["errors"][0]["field"] == "password"
    bad = await api.post("/api/users", json={"username": "bad name!", "password": PASSWORD})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "username"
    role = await api.post(
        "/api/users", json={"username": "bob", "password": PASSWORD, "role": "root"}
    )
    assert role.status_code == 422 and role.json["errors"][0]["field"] == "role"


async def test_users_never_expose_password_hashes(api):
    user = await _user(api)
    for body in (
        (await api.get("/api/users")).json["items"][0],
        (await api.get(f"/api/users/{user['id']}")).json,
    ):
        assert set(body) == {"id", "username", "role", "active"}


async def test_password_change_and_deactivation(api):
    user = await _user(api)
    changed = await api.patch(f"/api/users/{user['id']}", json={"password": "a new long password"})
    assert changed.status_code == 200
    assert (await _login(api, "alice", PASSWORD)).status_code == 401
    assert (await _login(api, "alice", "a new long password")).status_code == 200
    await api.patch(f"/api/users/{user['id']}", json={"active": False})
    assert (await _login(api, "alice", "a new long password")).status_code == 401
    # A token issued before deactivation no longer reads /me.
    me = await api.get(
        "/api/auth/me",
        role=None,
        headers={"Authorization": f"Bearer {token('editor', user['id'])}"},
    )
    assert me.status_code == 401


async def _as(api, username, password=PASSWORD) -> dict:
    """Headers with a fresh token of ``username``, for calls with ``role=None``."""
    login = await _login(api, username, password)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json['access_token']}"}


async def test_last_admin_cannot_be_removed_or_demoted(api):
    # The test tokens' admin is a real user now (tokens are checked against their user):
    # root becomes the last admin once it is gone.
    admin = await _user(api, "root", "admin")
    root = await _as(api, "root")
    gone = await api.delete(f"/api/users/{USER_IDS['admin']}", role=None, headers=root)
    assert gone.status_code == 204
    demote = await api.patch(
        f"/api/users/{admin['id']}", role=None, headers=root, json={"role": "viewer"}
    )
    assert demote.status_code == 422 and "last active admin" in demote.json["description"]
    assert (
        await api.delete(f"/api/users/{admin['id']}", role=None, headers=root)
    ).status_code == 409
    other = await api.post(
        "/api/users",
        role=None,
        headers=root,
        json={"username": "second", "password": PASSWORD, "role": "admin"},
    )
    assert (
        await api.delete(f"/api/users/{admin['id']}", role=None, headers=root)
    ).status_code == 204
    second = await _as(api, "second")
    mine = await api.get(f"/api/users/{other.json['id']}", role=None, headers=second)
    assert mine.json["role"] == "admin"


async def test_user_patch_rejects_unknown_fields(api):
    user = await _user(api)
    result = await api.patch(f"/api/users/{user['id']}", json={"username": "mallory"})
    assert result.status_code == 422 and result.json["errors"][0]["field"] == "username"


@pytest.mark.parametrize("username", ["", "   ", "ali\u0000ce", "\u0000"])
async def test_empty_or_nul_username_is_a_client_error(api, username):
    # Both used to answer 500: Pony refuses an empty required string in the lookup, and
    # psycopg2 refuses a NUL character in a query.
    await _user(api)
    result = await _login(api, username, PASSWORD)
    assert result.status_code == 422, result.text
    assert result.json["errors"][0]["field"] == "username"


# -- revocation: a token stands only while its user's password, role and status do ---


async def _bearer(api, headers, path="/api/racks"):
    return await api.get(path, role=None, headers=headers)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"password": "another long password"}, "changed after this token was issued"),
        ({"role": "viewer"}, "changed after this token was issued"),
        ({"role": "admin"}, "changed after this token was issued"),
        ({"active": False}, "deactivated"),
    ],
)
async def test_a_change_of_the_user_revokes_their_tokens(api, change, reason):
    user = await _user(api)
    alice = await _as(api, "alice")
    assert (await _bearer(api, alice)).status_code == 200
    assert (await api.patch(f"/api/users/{user['id']}", json=change)).status_code == 200
    refused = await _bearer(api, alice)
    assert refused.status_code == 401, refused.text
    assert refused.json["title"] == "Token revoked"
    assert reason in refused.json["description"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    # Writes are refused as well, and nothing is written.
    write = await api.post(
        "/api/racks", role=None, headers=alice, json={"name": "R", "u_height": 4}
    )
    assert write.status_code == 401
    assert (await api.get("/api/racks")).json["total"] == 0
    if change.get("active") is not False:  # a fresh login carries the new facts
        password = change.get("password", PASSWORD)
        assert (await _bearer(api, await _as(api, "alice", password))).status_code == 200


async def test_a_deleted_users_token_is_refused(api):
    user = await _user(api)
    alice = await _as(api, "alice")
    assert (await api.delete(f"/api/users/{user['id']}")).status_code == 204
    refused = await _bearer(api, alice)
    assert refused.status_code == 401 and "no longer exists" in refused.json["description"]


async def test_a_patch_that_changes_nothing_keeps_the_tokens(api):
    user = await _user(api)
    alice = await _as(api, "alice")
    same = await api.patch(f"/api/users/{user['id']}", json={"role": "editor", "active": True})
    assert same.status_code == 200
    assert (await _bearer(api, alice)).status_code == 200


async def test_a_token_with_a_role_its_user_lacks_is_refused(api):
    # Signed with the right key but claiming more than the user has (e.g. issued by a
    # release that did not bump the epoch on a demotion).
    forged = token("admin", USER_IDS["viewer"])
    refused = await _bearer(api, {"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401 and refused.json["title"] == "Token revoked"


async def test_revoked_admin_token_no_longer_opens_detailed_health(config):
    from homerack.api.app import create_app

    config = dataclasses.replace(config, trusted_networks=())
    async with falcon.testing.ASGIConductor(create_app(config)) as client:
        api = Api(client)
        await _user(api, "root", "admin")
        root = await _as(api, "root")
        assert (await api.get("/api/health/detailed", role=None, headers=root)).status_code == 200
        user_id = (await api.get("/api/users", params={"role": "admin"})).json["items"][0]
        assert user_id["username"] == "root"
        await api.patch(f"/api/users/{user_id['id']}", json={"role": "editor"})
        assert (await api.get("/api/health/detailed", role=None, headers=root)).status_code == 403


async def test_token_state_is_read_once_per_user_and_interval(config, monkeypatch):
    """The check costs one small query per user and HOMERACK_TOKEN_CHECK_SECONDS per
    worker; another worker sees a revocation within that interval."""
    from homerack.api.app import create_app
    from homerack.storage import users

    reads = []
    real = users.token_state
    monkeypatch.setattr(users, "token_state", lambda db, uid: (reads.append(uid), real(db, uid))[1])
    config = dataclasses.replace(config, token_check_seconds=1)
    async with (
        falcon.testing.ASGIConductor(create_app(config)) as one,
        falcon.testing.ASGIConductor(create_app(config)) as two,
    ):
        api, other = Api(one), Api(two)
        user = await _user(api)
        alice = await _as(api, "alice")
        reads.clear()
        for _ in range(20):
            assert (await _bearer(other, alice)).status_code == 200
        assert reads == [user["id"]]
        await api.patch(f"/api/users/{user['id']}", json={"role": "viewer"})
        assert (await _bearer(api, alice)).status_code == 401  # at once where it changed
        await asyncio.sleep(1.1)
        assert (await _bearer(other, alice)).status_code == 401  # after the interval


async def test_a_verified_token_is_remembered_but_still_expires(api):
    """Each worker verifies a token's signature once and remembers its claims; the
    remembered token is refused as soon as its "exp" passes, as PyJWT would."""
    soon = jwt.encode(
        {"sub": "1", "role": "admin", "exp": int(time.time()) + 2}, JWT_SECRET, algorithm="HS256"
    )
    headers = {"Authorization": f"Bearer {soon}"}
    assert (await api.get("/api/racks", role=None, headers=headers)).status_code == 200
    assert (await api.get("/api/racks", role=None, headers=headers)).status_code == 200
    await asyncio.sleep(max(0.0, int(time.time()) + 3 - time.time()))
    late = await api.get("/api/racks", role=None, headers=headers)
    assert late.status_code == 401 and "expired" in late.json["description"]


async def test_a_token_with_a_bad_signature_is_never_remembered(api):
    good = token("admin")
    assert (await api.get("/api/racks", role=None, headers=bearer(good))).status_code == 200
    head, payload, signature = good.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    for _ in range(2):
        assert (await api.get("/api/racks", role=None, headers=bearer(forged))).status_code == 401


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}
