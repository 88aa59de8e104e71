#!/usr/bin/python3
"""HomeRack backups: one set per run under the backup directory, checked before it counts.

    homerack-backup run              take a set now (homerack-backup.service runs this)
    homerack-backup list             the sets, newest first, with their age and size
    homerack-backup verify [SET]     check a set (default: the newest) against its manifest
    homerack-backup prune            apply the retention (run does it after each set)
    homerack-backup metrics [--result R]   write the node exporter's textfile metrics

A set is a directory homerack-YYYYmmddTHHMMSSZ holding database.dump (pg_dump custom
format; the brand logos are a table in it) and manifest.json (time, release, schema, row
counts, sha256 and size of every file). Sets taken before the logos moved into the
database also hold uploads/ (the logo files); verify and list still read them. A set is
written as .incomplete-* and renamed only once pg_restore has read the dump back and every
checksum matches, so a directory named homerack-* is always a complete set. Settings come
from the environment (the unit sets them). Standard library only: it runs with the
system's python3 on the database host.
"""

import argparse
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BACKUP_DIR = Path(os.environ.get("HOMERACK_BACKUP_DIR", "/var/backups/homerack"))
DATABASE = os.environ.get("HOMERACK_BACKUP_DATABASE", "homerack")
RETENTION_DAYS = int(os.environ.get("HOMERACK_BACKUP_RETENTION_DAYS", "7"))
_textfile = os.environ.get("HOMERACK_BACKUP_TEXTFILE_DIR", "/var/lib/prometheus/node-exporter")
TEXTFILE_DIR = Path(_textfile) if _textfile else None
RELEASE_LINK = Path(os.environ.get("HOMERACK_BACKUP_RELEASE_LINK", "/opt/homerack/current"))
PREFIX, INCOMPLETE = "homerack-", ".incomplete-"
STAMP = "%Y%m%dT%H%M%SZ"
SET_NAME = re.compile(r"^homerack-\d{8}T\d{6}Z$")


class BackupError(Exception):
    """A check failed: the message says which and why."""


def log(message: str) -> None:
    # One line per step: journalctl -u homerack-backup shows the run.
    print(message, flush=True)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def psql(sql: str) -> list[str]:
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", DATABASE, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line]


def row_counts() -> dict[str, int]:
    # Exact counts of every table in one static query: PostgreSQL quotes the names (%I).
    rows = psql(
        "SELECT tablename, (xpath('/row/n/text()', query_to_xml(format("
        "'SELECT count(*) AS n FROM public.%I', tablename), false, true, '')))[1]::text "
        "FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )
    return {name: int(n) for name, n in (line.split("|") for line in rows)}


def schema() -> list[str]:
    try:
        return psql("SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc, 1")
    except subprocess.CalledProcessError:
        return []  # no migration applied yet


def release() -> str:
    try:
        return RELEASE_LINK.resolve(strict=True).name
    except OSError:
        return "unknown"


def files_of(set_dir: Path) -> list[Path]:
    return sorted(p for p in set_dir.rglob("*") if p.is_file() and p.name != "manifest.json")


def check(set_dir: Path, manifest: dict) -> None:
    """The dump reads back and every file matches the manifest (nothing more, nothing less)."""
    listed = manifest.get("files", {})
    present = {str(p.relative_to(set_dir)): p for p in files_of(set_dir)}
    if set(listed) != set(present):
        missing, extra = set(listed) - set(present), set(present) - set(listed)
        raise BackupError(
            f"{set_dir.name}: files differ from the manifest "
            f"(missing {sorted(missing)}, not listed {sorted(extra)})"
        )
    for name, meta in listed.items():
        if sha256(present[name]) != meta["sha256"]:
            raise BackupError(f"{set_dir.name}: {name} does not match its sha256")
    listing = subprocess.run(
        ["pg_restore", "--list", str(set_dir / "database.dump")], capture_output=True, text=True
    )
    if listing.returncode != 0 or "TABLE DATA" not in listing.stdout:
        raise BackupError(
            f"{set_dir.name}: pg_restore cannot read database.dump: "
            f"{listing.stderr.strip() or 'no table data in the dump'}"
        )


def sets() -> list[Path]:
    """Complete sets, newest first."""
    if not BACKUP_DIR.is_dir():
        return []
    return sorted(
        (
            p
            for p in BACKUP_DIR.iterdir()
            if p.is_dir() and SET_NAME.match(p.name) and (p / "manifest.json").is_file()
        ),
        reverse=True,
    )


def manifest_of(set_dir: Path) -> dict:
    try:
        return json.loads((set_dir / "manifest.json").read_text())
    except ValueError as exc:
        raise BackupError(f"{set_dir.name}: manifest.json is not valid JSON ({exc})") from None


def size_of(manifest: dict) -> int:
    return sum(f["bytes"] for f in manifest["files"].values())


def set_time(set_dir: Path) -> dt.datetime:
    return dt.datetime.strptime(set_dir.name[len(PREFIX) :], STAMP).replace(tzinfo=dt.UTC)


def locked() -> int:
    """One run at a time (a manual run beside the timer's): an exclusive lock on the dir."""
    fd = os.open(BACKUP_DIR, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise BackupError(f"another backup is running in {BACKUP_DIR}") from None
    return fd


def run(_args) -> None:
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    name = PREFIX + now.strftime(STAMP)
    BACKUP_DIR.mkdir(mode=0o700, exist_ok=True)
    lock = locked()
    work = Path(tempfile.mkdtemp(prefix=INCOMPLETE, dir=BACKUP_DIR))
    try:
        dump = work / "database.dump"
        subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--lock-wait-timeout=60s",
                f"--file={dump}",
                DATABASE,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        counts, applied = row_counts(), schema()
        log(
            f"dumped database {DATABASE}: {sum(counts.values())} rows in {len(counts)} tables "
            f"({counts.get('logo', 0)} logos)"
        )
        manifest = {
            "format": 2,  # 1 also listed "uploads", the logo files copied into uploads/
            "name": name,
            "time": now.isoformat(timespec="seconds"),
            "host": os.uname().nodename,
            "database": DATABASE,
            "release": release(),
            "schema": applied,
            "rows": counts,
            "files": {
                str(p.relative_to(work)): {"sha256": sha256(p), "bytes": p.stat().st_size}
                for p in files_of(work)
            },
        }
        manifest["duration_seconds"] = round(time.monotonic() - started, 3)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        check(work, manifest)
        os.sync()  # the set is on disk before its name says it is complete
        work.rename(BACKUP_DIR / name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        os.close(lock)
    log(
        f"backup {name} complete: {size_of(manifest)} bytes, {manifest['duration_seconds']} s, "
        f"release {manifest['release']}, schema {applied[-1] if applied else 'empty'}"
    )
    prune(_args)


def prune(_args) -> None:
    """Keep RETENTION_DAYS days of sets, and always the newest one, however old."""
    complete = sets()
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=RETENTION_DAYS)
    for old in complete[1:]:
        if set_time(old) < cutoff:
            shutil.rmtree(old)
            log(f"removed {old.name} (older than {RETENTION_DAYS} days)")
    # Leftovers of runs that were killed (a failed run removes its own).
    for stale in BACKUP_DIR.glob(INCOMPLETE + "*") if BACKUP_DIR.is_dir() else []:
        if time.time() - stale.stat().st_mtime > 86400:
            shutil.rmtree(stale, ignore_errors=True)
            log(f"removed the unfinished {stale.name}")


def list_sets(_args) -> None:
    now = dt.datetime.now(dt.UTC)
    for s in sets():
        m = manifest_of(s)
        age = now - set_time(s)
        print(
            f"{s.name}  {age.days}d{age.seconds // 3600:02d}h  {size_of(m):>12} bytes  "
            f"release {m['release']}  rows {sum(m['rows'].values())}  "
            f"logos {m['rows'].get('logo', m.get('uploads', 0))}"
        )


def verify(args) -> None:
    complete = sets()
    if args.set:
        target = Path(args.set) if "/" in args.set else BACKUP_DIR / args.set
    elif complete:
        target = complete[0]
    else:
        raise BackupError(f"no backup set in {BACKUP_DIR}")
    if not (target / "manifest.json").is_file():
        raise BackupError(f"{target}: not a backup set (no manifest.json)")
    check(target, manifest_of(target))
    print(
        f"{target.name}: OK ({len(manifest_of(target)['files'])} files match the manifest, "
        "the dump reads back)"
    )


def metrics(args) -> None:
    """The last run's result and the newest set's time, size and duration, written
    atomically for the node exporter's textfile collector (alerts: docs/operations.md)."""
    ok = (args.result or os.environ.get("SERVICE_RESULT", "success")) == "success"
    lines = [
        "# HELP homerack_backup_last_run_timestamp_seconds End of the last backup run.",
        "# TYPE homerack_backup_last_run_timestamp_seconds gauge",
        f"homerack_backup_last_run_timestamp_seconds {time.time():.0f}",
        "# HELP homerack_backup_last_run_success 1 if the last backup run succeeded.",
        "# TYPE homerack_backup_last_run_success gauge",
        f"homerack_backup_last_run_success {1 if ok else 0}",
    ]
    complete = sets()
    if complete:
        m = manifest_of(complete[0])
        for metric, value, text in [
            (
                "last_success_timestamp_seconds",
                int(set_time(complete[0]).timestamp()),
                "Time of the newest complete backup set.",
            ),
            ("last_size_bytes", size_of(m), "Size of the newest complete backup set."),
            (
                "last_duration_seconds",
                m.get("duration_seconds", 0),
                "Duration of the run that wrote the newest set.",
            ),
        ]:
            lines += [
                f"# HELP homerack_backup_{metric} {text}",
                f"# TYPE homerack_backup_{metric} gauge",
                f"homerack_backup_{metric} {value}",
            ]
    if TEXTFILE_DIR is None or not TEXTFILE_DIR.is_dir():
        return  # no node exporter here (the role creates the directory when there is one)
    tmp = TEXTFILE_DIR / ".homerack_backup.prom.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o644)
    tmp.rename(TEXTFILE_DIR / "homerack_backup.prom")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="homerack-backup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="take a backup set now").set_defaults(func=run)
    sub.add_parser("list", help="list the sets, newest first").set_defaults(func=list_sets)
    sub.add_parser("prune", help="apply the retention").set_defaults(func=prune)
    p = sub.add_parser("verify", help="check a set (default: the newest) against its manifest")
    p.add_argument("set", nargs="?", help="set name or path")
    p.set_defaults(func=verify)
    p = sub.add_parser("metrics", help="write the textfile metrics")
    p.add_argument("--result", help="success or failure (default: $SERVICE_RESULT)")
    p.set_defaults(func=metrics)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"error: {exc.cmd[0]} failed (exit {exc.returncode}): {(exc.stderr or '').strip()}",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
