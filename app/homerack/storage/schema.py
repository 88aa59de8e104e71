"""Whether this release can run on a database's schema: the expand/contract rule.

Pure: it compares the migration ids this release ships with the ids applied to the
database and the compatibility kinds recorded there (``homerack_migration_compat``).
The rule itself is explained for migration authors in ``migrations/README.md``.

* A migration this release ships is known: its code matches it, whatever its kind.
* A migration applied by a newer release is unknown here. Old code keeps working only
  if every unknown one is recorded as ``expand`` (it only added things); one recorded
  as ``contract``, or not recorded at all, makes the schema incompatible. An applied
  migration without a record is treated as ``contract``: the safe guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

EXPAND = "expand"
CONTRACT = "contract"
KINDS = (EXPAND, CONTRACT)

CURRENT = "current"
PENDING = "pending"
AHEAD_COMPATIBLE = "ahead-compatible"
AHEAD_INCOMPATIBLE = "ahead-incompatible"


@dataclass(frozen=True)
class SchemaStatus:
    head: str | None  # the newest migration this release ships
    pending: tuple[str, ...] = ()  # shipped, not applied
    ahead: tuple[str, ...] = ()  # applied, not shipped (a newer release's)
    incompatible: tuple[str, ...] = ()  # the part of ``ahead`` old code cannot run on
    has_schema: bool = True  # False: not even yoyo's table exists

    @property
    def state(self) -> str:
        # Incompatible wins over pending: applying what is pending would not make this
        # release able to run, and `db upgrade` must refuse.
        if self.incompatible:
            return AHEAD_INCOMPATIBLE
        if self.pending:
            return PENDING
        return AHEAD_COMPATIBLE if self.ahead else CURRENT

    def as_dict(self) -> dict:
        return {
            "state": self.state,
            "pending": list(self.pending),
            "ahead": list(self.ahead),
            "incompatible": list(self.incompatible),
            "head": self.head,
        }


def classify(
    shipped: Iterable[str],
    applied: Iterable[str],
    kinds: Mapping[str, str],
    *,
    has_schema: bool = True,
) -> SchemaStatus:
    """The status of a database with ``applied`` migrations and ``kinds`` recorded."""
    shipped, applied = sorted(shipped), set(applied)
    ahead = tuple(sorted(applied - set(shipped)))
    return SchemaStatus(
        head=shipped[-1] if shipped else None,
        pending=tuple(m for m in shipped if m not in applied),
        ahead=ahead,
        incompatible=tuple(m for m in ahead if kinds.get(m) != EXPAND),
        has_schema=has_schema,
    )


def declared_kind(module, migration_id: str) -> str:
    """The kind a migration module declares in ``__homerack_compat__``; contract when
    it declares none. A misspelt kind is an error, not a silent contract."""
    kind = getattr(module, "__homerack_compat__", CONTRACT)
    if kind not in KINDS:
        raise ValueError(
            f"migration {migration_id}: __homerack_compat__ must be one of "
            f"{', '.join(KINDS)}, not {kind!r}"
        )
    return kind
