"""Users get a token epoch: every token carries the epoch it was issued under, and a
change of password, role or active state bumps it, so tokens issued before the change
are refused (revocation without a token list).

Expand: a column with a DEFAULT; an older release neither reads nor writes it (its
tokens carry no epoch and count as epoch 0, as every existing user starts).
"""

from yoyo import step

__depends__ = {"0002_device_serial_and_url"}
__homerack_compat__ = "expand"

steps = [
    step(
        "ALTER TABLE app_user ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE app_user DROP COLUMN token_epoch",
    ),
]
