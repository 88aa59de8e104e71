"""Hostile JSON and token abuse: every attempt is a 4xx and writes nothing."""

from __future__ import annotations

import time
import warnings

import jwt
import pytest
from helpers import JWT_SECRET, USER_IDS, token

DEEP = 100_000


async def _nothing_written(api) -> None:
    for path in ("/api/brands", "/api/racks", "/api/devices", "/api/connections"):
        assert (await api.get(path)).json["total"] == 0, path
    assert (await api.get("/api/users")).json["total"] == len(USER_IDS)


async def _post_raw(api, path: str, body: bytes, **kw):
    return await api.post(path, body=body, headers={"Content-Type": "application/json"}, **kw)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * DEEP + b"]" * DEEP,  # deep nesting
        b'{"name": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        b'{"name": "R", "u_height": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
        b'{"name": "R", "u_height": 1e400}',  # overflows a double
        b'{"name": "R", "u_height": -1e400}',
        b'{"name": "R", "u_height": ' + b"9" * 5000 + b"}",  # past int()'s digit limit
        b'{"name": "R", "u_height": 99999999999999999999999999999}',  # past 64 bits
        b'{"name": "R", "u_height": NaN}',
        b'{"name": "R", "u_height": Infinity}',
        b'{"name": "R", "u_height": 4, "max_weight_kg": -Infinity}',
        b'{"name": "R", "u_height": 4, "name": "S"}',  # duplicate keys
        b'{"name": "R", "u_height": 4, "notes": "", "notes": "x"}',
        b'{"name": "\\ud800", "u_height": 4}',  # a lone surrogate
        b'{"name": "R", "u_height": 4}' + b" " * 10 + b"{}",  # trailing data
        b'\xff\xfe{"name": "R", "u_height": 4}',  # not UTF-8
    ],
)
async def test_hostile_json_is_a_client_error_and_writes_nothing(api, body):
    result = await _post_raw(api, "/api/racks", body)
    assert 400 <= result.status_code < 500, (result.status_code, result.text[:300])
    assert result.json["title"]
    await _nothing_written(api)


async def test_duplicate_keys_are_refused_even_when_both_values_are_valid(api):
    result = await _post_raw(api, "/api/brands", b'{"name": "A", "name": "B"}')
    assert result.status_code == 400 and "duplicate" in result.json["description"]
    nested = await _post_raw(
        api, "/api/racks/1/optimize", b'{"weights": {"cable": 1, "cable": 0}}', role="viewer"
    )
    assert nested.status_code == 400


@pytest.mark.parametrize(
    "name",
    [
        "evil\u202egnp.exe",  # right-to-left override: shows as "evilexe.png"
        "a\u2066b\u2069",  # isolates
        "x\u200fy",
        "x\u061cy",  # marks
        "tab\tinside",
        "bell\u0007",
        "del\u007f",
        "nul\u0000",
        "esc\u001b[31m",
        "line\nbreak",
        "line\u2028sep",
    ],
)
async def test_control_and_bidi_characters_in_names_are_refused(api, lab, name):
    rack, device = lab["rack"]["id"], lab["sw"]["id"]
    before = (await api.get(f"/api/racks/{rack}/elevation.svg")).text
    for path, body in (
        (f"/api/racks/{rack}", {"name": name}),
        (f"/api/devices/{device}", {"name": name}),
        ("/api/brands", {"name": name}),
        ("/api/racks", {"name": name, "u_height": 4}),
    ):
        write = await (api.patch if path[-1].isdigit() else api.post)(path, json=body)
        assert write.status_code == 422, (path, write.text)
        assert write.json["errors"][0]["field"] == "name"
    # What the elevation draws is unchanged: nothing of it was stored.
    assert (await api.get(f"/api/racks/{rack}/elevation.svg")).text == before


def _forge(claims: dict, key="another-secret-another-secret-xx", algorithm="HS256") -> str:
    with warnings.catch_warnings():  # PyJWT warns of our key's length for HS512
        warnings.simplefilter("ignore")
        return jwt.encode(
            {
                "sub": str(USER_IDS["admin"]),
                "role": "admin",
                "epoch": 0,
                "exp": int(time.time()) + 600,
                **claims,
            },
            key,
            algorithm=algorithm,
        )


@pytest.mark.parametrize(
    ("make", "words"),
    # Made when the test runs, not when it is collected: a token made long before (a slow
    # suite) would be refused as expired instead of for the reason the test is about.
    [
        (lambda: _forge({}, None, "none"), "invalid"),  # alg none, unsigned
        (lambda: _forge({}), "invalid"),  # another key
        (lambda: _forge({}, JWT_SECRET, "HS512"), "invalid"),  # an algorithm not ours
        (lambda: _forge({"exp": int(time.time()) - 5}, JWT_SECRET), "expired"),
        (lambda: _forge({"sub": "1e3"}, JWT_SECRET), "invalid"),
        (lambda: _forge({"sub": "99999999999999999999"}, JWT_SECRET), "invalid"),
        (lambda: _forge({"sub": 1}, JWT_SECRET), "invalid"),
        (lambda: _forge({"epoch": "0"}, JWT_SECRET), "invalid"),
        (lambda: _forge({"epoch": True}, JWT_SECRET), "invalid"),
        (lambda: _forge({"role": ["admin"]}, JWT_SECRET), "invalid"),
        (lambda: _forge({"sub": "424242"}, JWT_SECRET), "no longer exists"),  # no such user
        (lambda: _forge({"epoch": 1}, JWT_SECRET), "changed"),  # a future epoch
        (lambda: token("admin")[:-4] + "AAAA", "invalid"),  # tampered signature
        (lambda: token("admin") + "\u0000", "invalid"),
    ],
)
async def test_abused_tokens_are_401_and_write_nothing(api, make, words):
    headers = {"Authorization": f"Bearer {make()}"}
    read = await api.get("/api/racks", role=None, headers=headers)
    assert read.status_code == 401, read.text
    assert words in read.json["description"]
    write = await api.post(
        "/api/racks", role=None, headers=headers, json={"name": "R", "u_height": 4}
    )
    assert write.status_code == 401
    make_admin = await api.post(
        "/api/users",
        role=None,
        headers=headers,
        json={"username": "mallory", "password": "x" * 12, "role": "admin"},
    )
    assert make_admin.status_code == 401
    await _nothing_written(api)


async def test_a_revoked_token_writes_nothing(api):
    user = await api.create(
        "/api/users", {"username": "alice", "password": "x" * 12, "role": "editor"}
    )
    login = await api.post(
        "/api/auth/login", role=None, json={"username": "alice", "password": "x" * 12}
    )
    alice = {"Authorization": f"Bearer {login.json['access_token']}"}
    await api.patch(f"/api/users/{user['id']}", json={"active": False})
    write = await api.post(
        "/api/racks", role=None, headers=alice, json={"name": "R", "u_height": 4}
    )
    assert write.status_code == 401 and write.json["title"] == "Token revoked"
    assert (await api.get("/api/racks")).json["total"] == 0
