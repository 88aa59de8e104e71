"""Devices get a serial number and a management URL (the web UI links each device in
the elevation to its admin page: Proxmox, the switch's UI, the UPS card).

Expand: two columns with a DEFAULT, so a release without them keeps inserting and
reading devices (Pony selects only the columns it maps). Same SQL on PostgreSQL
(a constant DEFAULT adds no table rewrite) and SQLite.
"""

from yoyo import step

__depends__ = {"0001_initial"}
__homerack_compat__ = "expand"

steps = [
    step(
        "ALTER TABLE device ADD COLUMN serial_number VARCHAR(100) NOT NULL DEFAULT ''",
        "ALTER TABLE device DROP COLUMN serial_number",
    ),
    step(
        "ALTER TABLE device ADD COLUMN management_url VARCHAR(500) NOT NULL DEFAULT ''",
        "ALTER TABLE device DROP COLUMN management_url",
    ),
]
