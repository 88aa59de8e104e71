"""Brand logos move into the database (table ``logo``), so that every app host serves the
same ones and a database backup holds them. The key is the logo's file name as it was on
disk, ``<sha256>.<ext>``: ``brand.logo`` keeps its URL ``/uploads/logos/<name>``
unchanged, so no existing row is rewritten. Existing files are imported by
``homerack logos import`` (the deploy runs it after ``db upgrade``), not here: a
migration must not depend on what one host has on its disk.

Expand: a new table; an older release neither reads nor writes it (it still writes logo
files during a rolling update, which the import run after the update picks up).
"""

from yoyo import step

__depends__ = {"0003_user_token_epoch"}
__homerack_compat__ = "expand"

BLOB = {"postgresql": "BYTEA", "sqlite": "BLOB"}

TABLE = """
CREATE TABLE logo (
    name VARCHAR(80) PRIMARY KEY,
    media_type VARCHAR(32) NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    data {blob} NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)"""


def _dialect(conn) -> str:
    return "postgresql" if type(conn).__module__.startswith("psycopg") else "sqlite"


def apply(conn):
    conn.cursor().execute(TABLE.format(blob=BLOB[_dialect(conn)]))


def rollback(conn):
    conn.cursor().execute("DROP TABLE logo")


steps = [step(apply, rollback)]
