"""Logos served from the database at /uploads/logos/<sha256>.<ext>, shared between brands,
carried by export and import, and imported from the files of a release that kept them on
disk."""

import asyncio
import hashlib
import sqlite3
from urllib.parse import urlsplit

import psycopg2
import pytest
from helpers import logo_names, png, query
from scratch_db import pg_exec

from homerack.cli import main


async def _upload(api, brand_id: int, data: bytes) -> str:
    result = await api.put(
        f"/api/brands/{brand_id}/logo", body=data, headers={"Content-Type": "image/png"}
    )
    assert result.status_code == 200, result.text
    return result.json["logo_url"]


@pytest.fixture
async def logo(api) -> dict:
    brand = await api.create("/api/brands", {"name": "Ubiquiti"})
    url = await _upload(api, brand["id"], png())
    return {"brand": brand, "url": url, "digest": url.rsplit("/", 1)[1].split(".")[0]}


async def test_a_logo_is_served_without_a_token_with_immutable_caching(api, config, logo):
    served = await api.get(logo["url"], role=None)
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == logo["digest"]
    assert served.content == query(config.database_url, "SELECT data FROM logo")[0][0]
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["etag"] == f'"{logo["digest"]}"'  # strong: not W/
    assert served.headers["x-content-type-options"] == "nosniff"
    assert int(served.headers["content-length"]) == len(served.content)


async def test_head_answers_the_headers_of_get_without_the_body(api, logo):
    head = await api._call("HEAD", logo["url"], role=None)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == f'"{logo["digest"]}"'
    assert head.headers["content-type"] == "image/png"


@pytest.mark.parametrize("tags", ['"{d}"', 'W/"{d}"', '"other", "{d}"', "*"])
async def test_a_matching_if_none_match_is_304(api, logo, tags):
    answer = await api.get(
        logo["url"], role=None, headers={"If-None-Match": tags.format(d=logo["digest"])}
    )
    assert answer.status_code == 304 and answer.content == b""
    assert answer.headers["etag"] == f'"{logo["digest"]}"'
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_another_etag_gets_the_logo(api, logo):
    answer = await api.get(logo["url"], role=None, headers={"If-None-Match": '"0123"'})
    assert answer.status_code == 200 and answer.content


JUNK = [
    "nothing.png",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "a%00.png",
    "0" * 64 + ".png%00",
    "0" * 64 + ".gif",
    "0" * 64 + ".PNG",
    "0" * 63 + ".png",
    "A" * 64 + ".png",
    "0" * 64 + ".png.png",
    "0" * 64,
    "." + "0" * 64 + ".png",
    "x" * 100_000,
    "%C3%A9" * 50,
    "0" * 64 + ".png%0A",
    "%FF%FE.png",
]


@pytest.mark.parametrize("name", JUNK, ids=lambda n: n[:40])
async def test_junk_names_are_404_json(api, logo, name):
    for method in ("GET", "HEAD"):
        answer = await api._call(method, f"/uploads/logos/{name}", role=None)
        assert answer.status_code == 404, (method, answer.status_code, answer.text)
        if method == "GET":
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.json["title"]


async def test_an_unknown_digest_is_404(api, logo):
    answer = await api.get(f"/uploads/logos/{'0' * 64}.png", role=None)
    assert answer.status_code == 404
    assert answer.json == {
        "title": "Not Found",
        "description": f"logo {'0' * 64}.png does not exist",
    }
    other = logo["url"].replace(".png", ".jpg")  # the right digest, the wrong format
    assert (await api.get(other, role=None)).status_code == 404


async def test_the_route_is_not_in_the_api_document(api):
    doc = (await api.get("/api/openapi.json", role=None)).json
    assert not [p for p in doc["paths"] if p.startswith("/uploads")]


async def test_a_shared_logo_survives_until_its_last_brand_goes(api, config, logo):
    others = [await api.create("/api/brands", {"name": n}) for n in ("Dell", "HPE")]
    for other in others:
        assert await _upload(api, other["id"], png()) == logo["url"]  # the same row
    name = logo["url"].rsplit("/", 1)[1]
    assert logo_names(config.database_url) == [name]
    # Replaced on one brand, removed from another, one brand deleted: still used.
    await _upload(api, logo["brand"]["id"], png((0, 0, 255)))
    assert (await api.delete(f"/api/brands/{others[0]['id']}/logo")).status_code == 200
    assert name in logo_names(config.database_url)
    assert (await api.get(logo["url"], role=None)).status_code == 200
    # The last brand using it is deleted: the row goes with it, in the same write.
    assert (await api.delete(f"/api/brands/{others[1]['id']}")).status_code == 204
    assert name not in logo_names(config.database_url)
    assert (await api.get(logo["url"], role=None)).status_code == 404
    # Uploading it again brings it back.
    assert await _upload(api, others[0]["id"], png()) == logo["url"]
    assert (await api.get(logo["url"], role=None)).status_code == 200


async def test_a_refused_brand_delete_keeps_its_logo(api, config, logo):
    await api.create(
        "/api/device-types",
        {"brand_id": logo["brand"]["id"], "model": "Box", "category": "server", "u_height": 1},
    )
    assert (await api.delete(f"/api/brands/{logo['brand']['id']}")).status_code == 409
    assert (await api.get(logo["url"], role=None)).status_code == 200


async def test_setting_the_same_logo_again_keeps_it(api, config, logo):
    assert await _upload(api, logo["brand"]["id"], png()) == logo["url"]
    assert len(logo_names(config.database_url)) == 1
    assert (await api.get(logo["url"], role=None)).status_code == 200


async def test_export_and_import_keep_the_logos(api, config, logo):
    doc = (await api.get("/api/export")).json
    assert doc["brands"][0]["logo_url"] == logo["url"]
    # Replace everything with the same document: the logo stays, still served.
    assert (await api.post("/api/import", json=doc)).status_code == 200
    assert (await api.get(logo["url"], role=None)).status_code == 200
    brand = (await api.get("/api/brands")).json["items"][0]
    assert brand["logo_url"] == logo["url"]
    # Another inventory without that logo, then the first export back: the logo was kept,
    # so the brand's logo answers again (an export carries only the URL).
    other = {**doc, "brands": [{**doc["brands"][0], "logo_url": None}]}
    assert (await api.post("/api/import", json=other)).status_code == 200
    assert (await api.get("/api/brands")).json["items"][0]["logo_url"] is None
    assert (await api.post("/api/import", json=doc)).status_code == 200
    assert logo_names(config.database_url) == [logo["url"].rsplit("/", 1)[1]]
    assert (await api.get(logo["url"], role=None)).status_code == 200


# -- the files of a release that kept logos on disk --------------------------------


def _legacy(config, brands: dict[str, bytes | None]) -> dict[str, str]:
    """Brands as an older release left them: each logo a file under upload_dir/logos
    (None: a file that is missing), the brand pointing at its URL."""
    folder = config.upload_dir / "logos"
    folder.mkdir(parents=True, exist_ok=True)
    urls = {}
    for i, (brand, data) in enumerate(brands.items()):
        body = data if data is not None else png((i, i, i))
        name = f"{hashlib.sha256(body).hexdigest()}.png"
        if data is not None:
            (folder / name).write_bytes(data)
        urls[brand] = f"/uploads/logos/{name}"
        _execute(
            config.database_url,
            f"INSERT INTO brand (name, website, logo) VALUES ('{brand}', '', '{urls[brand]}')",
        )
    return urls


def _execute(url: str, sql: str) -> None:
    if url.startswith("sqlite:"):
        with sqlite3.connect(urlsplit(url).path[1:]) as conn:
            conn.execute(sql)
        conn.close()
    else:
        pg_exec(url, sql)


@pytest.fixture
def cli(config, monkeypatch):
    monkeypatch.setenv("HOMERACK_DATABASE_URL", config.database_url)
    monkeypatch.setenv("HOMERACK_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("HOMERACK_UPLOAD_DIR", str(config.upload_dir))
    return lambda *argv: main(["logos", "import", *argv])


async def test_legacy_files_are_imported_once_and_left_in_place(api, config, cli, capsys):
    shared, own = png((1, 1, 1)), png((2, 2, 2))
    urls = _legacy(config, {"A": shared, "B": shared, "C": own, "Gone": None})
    folder = config.upload_dir / "logos"
    (folder / f"{'f' * 64}.png").write_bytes(png((3, 3, 3)))  # no brand uses it
    (folder / ".upload-tmp").write_bytes(b"half")  # an older release's write in progress
    files = sorted(p.name for p in folder.iterdir())

    assert cli() == 0
    out = capsys.readouterr()
    assert "imported 2 logo(s)" in out.out and "1 referenced but not found" in out.out
    assert "could not be imported" in out.err
    assert logo_names(config.database_url) == sorted(urls[b].rsplit("/", 1)[1] for b in ("A", "C"))
    for brand in ("A", "B", "C"):
        served = await api.get(urls[brand], role=None)
        assert served.status_code == 200
        assert served.content == (folder / urls[brand].rsplit("/", 1)[1]).read_bytes()
    assert (await api.get(urls["Gone"], role=None)).status_code == 404
    assert sorted(p.name for p in folder.iterdir()) == files  # left as they were

    assert cli() == 0  # idempotent
    assert "imported 0 logo(s)" in capsys.readouterr().out
    assert len(logo_names(config.database_url)) == 2


def test_a_file_that_does_not_match_its_name_is_not_imported(config, cli, capsys):
    urls = _legacy(config, {"A": png()})
    path = config.upload_dir / "logos" / urls["A"].rsplit("/", 1)[1]
    path.write_bytes(path.read_bytes()[:-4])  # damaged since it was written
    assert cli() == 0
    assert "1 not matching their name" in capsys.readouterr().out
    assert logo_names(config.database_url) == []


def test_import_from_another_directory_and_without_any(config, cli, capsys, tmp_path):
    assert cli() == 0  # a fresh install never had logo files
    assert "no logo files to import" in capsys.readouterr().out
    urls = _legacy(config, {"A": png()})
    elsewhere = tmp_path / "from-a-backup"
    (config.upload_dir / "logos").rename(elsewhere)
    assert cli(str(elsewhere)) == 0
    assert "imported 1 logo(s)" in capsys.readouterr().out
    assert logo_names(config.database_url) == [urls["A"].rsplit("/", 1)[1]]


# -- two transactions at once on one logo (PostgreSQL, where they really overlap) -----

postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def _until_waiting_on_a_lock(url: str) -> None:
    database = urlsplit(url).path[1:]
    for _ in range(200):
        if query(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            f"AND datname = '{database}'",
        )[0][0]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the request never waited for the lock")


@postgres_only
async def test_a_logo_taken_from_its_last_brand_while_another_gets_it_is_kept(api, config, logo):
    other = await api.create("/api/brands", {"name": "Dell"})
    name = logo["url"].rsplit("/", 1)[1]
    conn = psycopg2.connect(config.database_url)
    try:
        with conn.cursor() as cur:  # another worker giving the logo to "Dell", uncommitted
            cur.execute(
                "INSERT INTO logo (name, media_type, size, data, created_at) VALUES "
                "(%s, 'image/png', 0, '', now()) ON CONFLICT (name) DO UPDATE SET "
                "name = excluded.name",
                (name,),
            )
            cur.execute("UPDATE brand SET logo = %s WHERE id = %s", (logo["url"], other["id"]))
        removal = asyncio.create_task(api.delete(f"/api/brands/{logo['brand']['id']}/logo"))
        await _until_waiting_on_a_lock(config.database_url)
        conn.commit()
        assert (await removal).status_code == 200
    finally:
        conn.close()
    assert logo_names(config.database_url) == [name]  # "Dell" refers to it: kept
    assert (await api.get(logo["url"], role=None)).status_code == 200


@postgres_only
async def test_a_logo_given_while_its_last_brand_drops_it_is_stored_again(api, config, logo):
    other = await api.create("/api/brands", {"name": "Dell"})
    name = logo["url"].rsplit("/", 1)[1]
    conn = psycopg2.connect(config.database_url)
    try:
        with conn.cursor() as cur:  # another worker removing the logo, uncommitted
            cur.execute("UPDATE brand SET logo = '' WHERE id = %s", (logo["brand"]["id"],))
            cur.execute("SELECT name FROM logo WHERE name = %s FOR UPDATE", (name,))
            cur.execute("DELETE FROM logo WHERE name = %s", (name,))
        upload = asyncio.create_task(_upload(api, other["id"], png()))
        await _until_waiting_on_a_lock(config.database_url)
        conn.commit()
        assert await upload == logo["url"]
    finally:
        conn.close()
    assert logo_names(config.database_url) == [name]
    assert (await api.get(logo["url"], role=None)).status_code == 200
