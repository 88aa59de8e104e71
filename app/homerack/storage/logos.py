"""Brand logos in the database (table ``logo``, migration 0004).

A logo row is keyed by its name, ``<sha256>.<ext>``, so identical logos share one row;
brands point at it by URL (``brand.logo``). Rows are written and removed only inside the
brand's own unit of work (``catalog.set_logo``, ``catalog.delete_brand``), so a brand
never commits without its logo, and a row goes with the last brand that used it.

Two transactions may at once give a logo to one brand and take it from the last other
one. Both lock the row first: the upsert locks it (waiting for a delete in flight, then
inserting again), and the removal locks it before it counts the brands left, in a
statement of its own, so on PostgreSQL (READ COMMITTED) it sees a reference committed
while it waited. SQLite serializes writers anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pony.orm import db_session

from ..uploads import URL_PREFIX, logo_name, media_type, name_of_url
from .connection import read_only

_UPSERT = (
    "INSERT INTO logo (name, media_type, size, data, created_at) "
    "VALUES ($name, $media_type, $size, $data, $created_at) "
    # A no-op update, so that the row is locked whether it was new or not.
    "ON CONFLICT (name) DO UPDATE SET name = excluded.name"
)


def _now() -> str:
    # Naive UTC, in the text form both PostgreSQL's TIMESTAMP and Pony's SQLite reader take.
    return datetime.now(UTC).replace(tzinfo=None).isoformat(" ")


def keep(db, name: str, data: bytes) -> str:
    """Store a logo unless it is there (inside the caller's unit of work); returns its URL."""
    db.execute(
        _UPSERT,
        {
            "name": name,
            "media_type": media_type(name),
            "size": len(data),
            "data": data,
            "created_at": _now(),
        },
    )
    return URL_PREFIX + name


def release(db, url: str) -> None:
    """Remove the logo of ``url`` if no brand refers to it any more (inside the caller's
    unit of work, after its own brand change)."""
    name = name_of_url(url)
    if name is None:
        return
    db.flush()  # the caller's brand change counts
    if db.provider_name == "postgres":
        db.select("SELECT name FROM logo WHERE name = $name FOR UPDATE", {"name": name})
    if not db.select("SELECT count(*) FROM brand WHERE logo = $url", {"url": url})[0]:
        db.execute("DELETE FROM logo WHERE name = $name", {"name": name})


@read_only
def fetch_logo(db, name: str) -> dict | None:
    """The logo's bytes and media type, None when there is no such logo."""
    logo = db.Logo.get(name=name)
    return None if logo is None else {"data": logo.data, "media_type": logo.media_type}


@db_session
def import_files(db, directory: Path) -> dict:
    """Import the logo files of an older release (``<upload_dir>/logos``) that brands refer
    to and the table lacks. Idempotent; the files are left in place. A file whose bytes do
    not hash to its name is skipped (a damaged copy must not be served as the logo)."""
    counts = {"imported": 0, "present": 0, "missing": 0, "damaged": 0}
    urls = db.select("SELECT DISTINCT logo FROM brand")
    names = {name for url in urls if (name := name_of_url(url)) is not None}
    present = set(db.select("SELECT name FROM logo")) if names else set()
    for name in sorted(names):
        if name in present:
            counts["present"] += 1
            continue
        try:
            data = (directory / name).read_bytes()
        except FileNotFoundError:
            counts["missing"] += 1
            continue
        if logo_name(data, name.rsplit(".", 1)[1]) != name:
            counts["damaged"] += 1
            continue
        keep(db, name, data)
        counts["imported"] += 1
    return counts
