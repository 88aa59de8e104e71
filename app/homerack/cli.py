"""The ``homerack`` command: serve, db upgrade/status, user add, catalog load, demo,
logos import.

Exit codes: 0 success, 1 error (cannot connect, invalid input, ...), 2 configuration
error. ``homerack db status`` tells deploy tools whether this release can run on the
database (``--json`` prints the same as one object)::

    0  it can: the schema is current, or ahead by migrations that a newer release
       recorded as expand-only (a rolling update or a rollback)
    3  migrations are pending: run `homerack db upgrade`
    4  the database is ahead by a migration this release cannot run on (contract, or
       unrecorded): roll forward to the newer release, or restore a backup taken
       before that migration
    1  any other error (cannot connect, ...)

``homerack db upgrade`` refuses (exit 4) a database in the last state, and prints
"up to date" when nothing was pending.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys

from . import __version__, release
from .config import ConfigError, load_config
from .domain.choices import ROLES
from .domain.errors import Conflict, DomainError
from .storage.database import IncompatibleSchema, SchemaError

EXIT_PENDING = 3
EXIT_INCOMPATIBLE = 4
DB_STATUS_EPILOG = """exit status:
  0  this release can run on the database: up to date, or ahead by migrations a newer
     release recorded as expand-only (compatible)
  3  migrations are pending (listed): run `homerack db upgrade`
  4  the database is ahead by a migration this release cannot run on (contract or
     unrecorded): roll forward, or restore a backup taken before that migration
  1  any other error (cannot connect, ...)

--json prints one object: {"state": "current" | "pending" | "ahead-compatible" |
"ahead-incompatible", "pending": [...], "ahead": [...], "incompatible": [...],
"head": "<newest migration this release ships>"}"""


def _db(config):
    from .storage.database import open_database

    return open_database(config.database_url)


def cmd_serve(args, config) -> int:
    """Development server: one uvicorn process. Production runs Gunicorn (docs/deployment.md)."""
    import uvicorn

    from . import logs
    from .storage.database import upgrade

    # The same JSON lines as under Gunicorn: uvicorn's loggers propagate to the root's
    # handler (log_config=None), which replaces the command's plain one.
    logging.getLogger().handlers.clear()
    logs.configure()
    if config.is_sqlite:
        # Only the embedded dev database is migrated here; production migrates in
        # its deploy step (`homerack db upgrade`), never from a serving process.
        upgrade(config.database_url)
    uvicorn.run(
        "homerack.asgi:app",
        host=args.host,
        port=args.port,
        log_level="info",
        log_config=None,
        reload=False,
    )
    return 0


def _ahead_note(status) -> str:
    return (
        f"database is ahead by {', '.join(status.ahead)} (compatible with this release: "
        "expand-only)"
    )


def cmd_db_upgrade(args, config) -> int:
    from .storage.database import upgrade

    applied = upgrade(config.database_url)
    # The deploy's changed_when looks for "up to date": keep the words when nothing ran.
    print(
        f"applied {len(applied)} migration(s): {', '.join(applied)}"
        if applied
        else "the database schema is up to date"
    )
    status = _read_status(config)
    if status.ahead:
        print(_ahead_note(status))
    return 0


def _read_status(config):
    from pony.orm import Database

    from .storage.database import bind_arguments, schema_status

    db = Database()
    try:
        db.bind(**bind_arguments(config.database_url))
    except Exception as exc:
        raise SchemaError(f"cannot open the database: {exc}") from exc
    try:
        return schema_status(db)
    except Exception as exc:
        raise SchemaError(f"cannot read the database's migrations: {exc}") from exc
    finally:
        db.disconnect()


def cmd_db_status(args, config) -> int:
    from .storage.database import incompatible_message
    from .storage.schema import AHEAD_INCOMPATIBLE, PENDING

    status = _read_status(config)
    code = {AHEAD_INCOMPATIBLE: EXIT_INCOMPATIBLE, PENDING: EXIT_PENDING}.get(status.state, 0)
    if args.json:
        print(json.dumps(status.as_dict()))
    elif status.state == AHEAD_INCOMPATIBLE:
        print(f"incompatible: {incompatible_message(status)}")
    elif status.state == PENDING:
        print(f"pending migrations: {', '.join(status.pending)}")
    elif status.ahead:
        print(_ahead_note(status))
    else:
        print(f"up to date ({status.head})")
    return code


def _read_password(args) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for {args.username}: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("passwords do not match")
    return first


def cmd_user_add(args, config) -> int:
    from .domain.schemas import UserIn, parse
    from .storage import call, users

    data = parse(
        UserIn, {"username": args.username, "password": _read_password(args), "role": args.role}
    )
    try:
        user = call(users.create_user, _db(config), data)
    except Conflict:
        if not args.exists_ok:
            raise
        # Deploy tools create the first admin on every run: an existing user is left as is.
        print(f"user '{data.username}' already exists (unchanged)")
        return 0
    print(f"created {user['role']} '{user['username']}' (id {user['id']})")
    return 0


def cmd_user_passwd(args, config) -> int:
    from .storage import call, users

    db = _db(config)
    user = call(users.find_user, db, args.username)
    call(users.update_user, db, user["id"], {"password": _read_password(args)})
    print(f"password of '{user['username']}' changed")
    return 0


def cmd_catalog_load(args, config) -> int:
    from .storage import call, seed

    counts = call(seed.load_catalog, _db(config))
    print(
        f"catalog: {counts['brands']} new brand(s), {counts['device_types']} new device "
        f"type(s) ({counts['skipped']} already present)"
    )
    return 0


def cmd_demo(args, config) -> int:
    from .storage import call, seed, users

    db = _db(config)
    call(seed.load_catalog, db)
    counts = call(seed.load_demo, db)
    print(
        f"demo homelab: {counts['racks']} racks, {counts['devices']} devices, "
        f"{counts['connections']} cables"
    )
    password = call(users.create_first_admin, db, "admin")
    if password:
        print(
            f"log in as 'admin' with password {password}\n(shown once; change it with "
            "`homerack user passwd admin`)"
        )
    return 0


def cmd_logos_import(args, config) -> int:
    """Logo files of a release that kept them on disk, into the database (the deploy runs
    it after ``db upgrade``; a restore of an older backup set, on the set's copy)."""
    from pathlib import Path

    from .storage import call, logos

    directory = Path(args.directory) if args.directory else config.upload_dir / "logos"
    if not directory.is_dir():
        print(f"no logo files to import: {directory} does not exist")
        return 0
    counts = call(logos.import_files, _db(config), directory)
    # The deploy's changed_when looks for "imported 0 ".
    print(
        f"imported {counts['imported']} logo(s) from {directory} "
        f"({counts['present']} already in the database, {counts['missing']} referenced "
        f"but not found there, {counts['damaged']} not matching their name)"
    )
    if counts["missing"] or counts["damaged"]:
        print(
            "homerack: warning: some brands refer to logos that could not be imported; "
            "they show no logo until one is uploaded again",
            file=sys.stderr,
        )
    return 0


def version_line() -> str:
    """``homerack 0.1.0`` plus the deployed release id when release.json is there."""
    current = release.current()
    return f"homerack {__version__}" + (f" (release {current['id']})" if current else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="homerack", description="HomeRack rack planner")
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the development server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(func=cmd_db_upgrade)
    status = db.add_parser(
        "status",
        help="can this release run on the database? (exit 0, 3 pending, 4 incompatible)",
        epilog=DB_STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument(
        "--json", action="store_true", help="print the state as one JSON object (same exit status)"
    )
    status.set_defaults(func=cmd_db_status)

    user = sub.add_parser("user", help="users").add_subparsers(dest="user", required=True)
    add = user.add_parser("add", help="create a user (password from a prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="viewer")
    add.add_argument(
        "--exists-ok",
        action="store_true",
        help="exit 0 and change nothing when the user already exists",
    )
    add.set_defaults(func=cmd_user_add)
    passwd = user.add_parser("passwd", help="set a password (from a prompt or stdin)")
    passwd.add_argument("username")
    passwd.set_defaults(func=cmd_user_passwd)

    catalog = sub.add_parser("catalog", help="the built-in device catalog").add_subparsers(
        dest="catalog", required=True
    )
    catalog.add_parser("load", help="install the curated catalog (idempotent)").set_defaults(
        func=cmd_catalog_load
    )

    sub.add_parser("demo", help="load a demo homelab (catalog included)").set_defaults(
        func=cmd_demo
    )

    logos = sub.add_parser("logos", help="brand logos").add_subparsers(dest="logos", required=True)
    imp = logos.add_parser(
        "import",
        help="copy the logo files brands refer to into the database (idempotent; the files stay)",
    )
    imp.add_argument(
        "directory", nargs="?", help="where the files are (default: $HOMERACK_UPLOAD_DIR/logos)"
    )
    imp.set_defaults(func=cmd_logos_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, load_config())
    except ConfigError as exc:
        print(f"homerack: configuration error: {exc}", file=sys.stderr)
        return 2
    except IncompatibleSchema as exc:
        print(f"homerack: {exc}", file=sys.stderr)
        return EXIT_INCOMPATIBLE
    except (DomainError, SchemaError) as exc:
        print(f"homerack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
