"""Device lists are ordered by name, then id (``GET /api/devices``): an index in that
order lets PostgreSQL read a page straight from it instead of sorting every device on
each uncached request. The unique index on ``lower(name)`` cannot serve that order.

Expand: a new index (not UNIQUE); an older release does not know it is there.
"""

from yoyo import step

__depends__ = {"0004_logo_blobs"}
__homerack_compat__ = "expand"

steps = [
    step(
        "CREATE INDEX device_name_order_idx ON device (name, id)",
        "DROP INDEX device_name_order_idx",
    ),
]
