#!/usr/bin/env python3
"""Check HomeRack's Grafana dashboards, and optionally that every query returns data.

    python3 scripts/check-dashboards.py roles/grafana/files/dashboards/*.json
    python3 scripts/check-dashboards.py --prometheus http://lampadas.local:9090 \\
        --retries 8 --wait 15 roles/grafana/files/dashboards/*.json

Structure (always): each file is a JSON dashboard with a non-empty ``uid`` and ``title``
unique across the files given, ``"id": null``; every panel (rows' nested ``panels``
included) has a unique id and a ``gridPos``; every panel but a row queries the
``homerack-prometheus`` data source and has at least one target, each with a non-empty
``expr`` and ``refId``.

Queries (with ``--prometheus``): each target's ``expr``, with Grafana's variables
replaced (``substitute``), is sent to ``/api/v1/query`` as an instant query; an empty
result fails. ``--retries``/``--wait`` poll the empty ones again (a rate needs two
scrapes). Standard library only, importable: the tests load it by path.
"""

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

DATASOURCE_UID = "homerack-prometheus"

# What Grafana's built-in interval variables become in a check: a 1m rate window is
# Grafana's $__rate_interval for a 15 s scrape interval (4 x scrape interval).
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

# $name, ${name}, ${name:format}, and the deprecated [[name]] / [[name:format]].
_VARIABLE = re.compile(
    r"\$\{(?P<braced>[A-Za-z_]\w*)(?::[^}]*)?\}"
    r"|\$(?P<plain>[A-Za-z_]\w*)"
    r"|\[\[(?P<old>[A-Za-z_]\w*)(?::[^\]]*)?\]\]"
)
# A label matcher with a double-quoted value: label op "value".
_MATCHER = re.compile(
    r'(?P<label>[A-Za-z_]\w*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"'
)
# A negative matcher on a variable with no value: keep the label, exclude nothing real.
_NOTHING = "__homerack_check_no_value__"


class SubstitutionError(ValueError):
    """A variable without a value used where no wildcard can stand in for it."""


def _name(match: re.Match) -> str:
    return match["braced"] or match["plain"] or match["old"]


def _promql_regex_literal(text: str) -> str:
    """``text`` matched literally by a regex, written inside a PromQL double-quoted string."""
    return re.escape(text).replace("\\", "\\\\")


def _matcher(match: re.Match, values: Mapping[str, str]) -> str:
    label, op, value = match["label"], match["op"], match["value"]
    refs = list(_VARIABLE.finditer(value))
    if not refs:
        return match[0]
    unknown = [ref for ref in refs if _name(ref) not in values]
    if not unknown:
        return f'{label}{op}"{_VARIABLE.sub(lambda m: values[_name(m)], value)}"'
    if op in ("!=", "!~"):
        # Grafana's "All" would exclude everything; a check wants the other series.
        return f'{label}!="{_NOTHING}"'
    whole = len(refs) == 1 and refs[0].span() == (0, len(value))
    if whole:
        return f'{label}=~".+"'
    if op == "=~":
        return f'{label}=~"{_VARIABLE.sub(lambda m: values.get(_name(m), ".*"), value)}"'
    # An equality around a variable: the literal parts must match literally.
    parts, pos = [], 0
    for ref in refs:
        parts.append(_promql_regex_literal(value[pos : ref.start()]))
        name = _name(ref)
        parts.append(_promql_regex_literal(values[name]) if name in values else ".*")
        pos = ref.end()
    parts.append(_promql_regex_literal(value[pos:]))
    return f'{label}=~"{"".join(parts)}"'


def substitute(expr: str, values: Mapping[str, str] | None = None) -> str:
    """``expr`` with Grafana's variables replaced for a one-off instant query.

    Built-in intervals take ``BUILTINS`` (``values`` may override them). A dashboard
    variable given in ``values`` is replaced by its value. One without a value stands
    for "All": a matcher whose whole value is the variable becomes ``=~".+"`` (any value
    of a label the series carry), a variable inside a regex becomes ``.*``, and a
    negative matcher on it stops excluding anything. Outside a label matcher a variable
    needs a value: ``SubstitutionError``.
    """
    known = {**BUILTINS, **(values or {})}
    out, pos = [], 0
    for m in _MATCHER.finditer(expr):
        out.append(expr[pos : m.start()])
        out.append(_matcher(m, known))
        pos = m.end()
    out.append(expr[pos:])
    text = "".join(out)

    def outside(m: re.Match) -> str:
        name = _name(m)
        if name not in known:
            raise SubstitutionError(
                f"${name} has no value outside a label matcher; pass --var {name}=VALUE"
            )
        return known[name]

    # Matchers are rewritten already; what is left of variables is outside them, except
    # inside matcher values just produced (only explicit values there, no $ left).
    result, pos = [], 0
    for m in _MATCHER.finditer(text):
        result.append(_VARIABLE.sub(outside, text[pos : m.start()]))
        result.append(m[0])
        pos = m.end()
    result.append(_VARIABLE.sub(outside, text[pos:]))
    return "".join(result)


# --- structure ------------------------------------------------------------------------


@dataclass
class Target:
    dashboard: str  # title
    panel: str  # title
    panel_id: object
    ref_id: str
    expr: str


@dataclass
class Dashboard:
    path: Path
    doc: dict

    @property
    def title(self) -> str:
        return str(self.doc.get("title") or self.path.name)

    def panels(self) -> Iterator[dict]:
        """Every panel, rows and the panels nested in (collapsed) rows included."""
        for panel in self.doc.get("panels") or []:
            if not isinstance(panel, dict):
                continue
            yield panel
            for nested in panel.get("panels") or []:
                if isinstance(nested, dict):
                    yield nested

    def query_panels(self) -> Iterator[dict]:
        return (p for p in self.panels() if p.get("type") != "row")

    def targets(self) -> Iterator[Target]:
        for panel in self.query_panels():
            for target in panel.get("targets") or []:
                if isinstance(target, dict) and target.get("expr"):
                    yield Target(
                        self.title,
                        str(panel.get("title", "")),
                        panel.get("id"),
                        str(target.get("refId", "")),
                        str(target["expr"]),
                    )


def _datasource_uid(ds: object) -> str | None:
    return ds.get("uid") if isinstance(ds, dict) else None


def _unique(
    value: object, valid: bool, seen: set, invalid: str, duplicate: str, errors: list[str]
) -> None:
    """Record an invalid or repeated id (panel ids, refIds)."""
    if not valid:
        errors.append(invalid)
    elif value in seen:
        errors.append(duplicate)
    else:
        seen.add(value)


def check_dashboard(doc: object, where: str = "dashboard") -> list[str]:
    """Problems of one dashboard document (empty when it is fine)."""
    if not isinstance(doc, dict):
        return [f"{where}: not a JSON object"]
    errors = []
    for key in ("uid", "title"):
        value = doc.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{where}: missing or empty {key!r}")
    if doc.get("id") is not None:
        errors.append(f"{where}: 'id' must be null (Grafana assigns it)")
    if not isinstance(doc.get("panels"), list) or not doc["panels"]:
        errors.append(f"{where}: no panels")
        return errors
    for var in (doc.get("templating") or {}).get("list") or []:
        if (
            isinstance(var, dict)
            and var.get("type") == "query"
            and _datasource_uid(var.get("datasource")) != DATASOURCE_UID
        ):
            errors.append(
                f"{where}: variable {var.get('name')!r}: datasource uid is not {DATASOURCE_UID!r}"
            )
    seen_ids: set = set()
    for index, panel in enumerate(Dashboard(Path(where), doc).panels()):
        label = f"{where}: panel {panel.get('title') or '#' + str(index)!r}"
        pid = panel.get("id")
        _unique(
            pid,
            isinstance(pid, int) and not isinstance(pid, bool),
            seen_ids,
            f"{label}: missing or non-integer id",
            f"{label}: duplicate panel id {pid}",
            errors,
        )
        grid = panel.get("gridPos")
        if not isinstance(grid, dict) or not all(
            isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")
        ):
            errors.append(f"{label}: gridPos with integer h, w, x, y missing")
        elif grid["x"] < 0 or grid["w"] < 1 or grid["x"] + grid["w"] > 24:
            errors.append(f"{label}: gridPos outside the 24 columns")
        if panel.get("type") == "row":
            continue
        if not panel.get("title"):
            errors.append(f"{label}: no title")
        if _datasource_uid(panel.get("datasource")) != DATASOURCE_UID:
            errors.append(f"{label}: datasource uid is not {DATASOURCE_UID!r}")
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            errors.append(f"{label}: no targets")
            continue
        ref_ids: set = set()
        for n, target in enumerate(targets):
            tlabel = f"{label} target #{n}"
            if not isinstance(target, dict):
                errors.append(f"{tlabel}: not an object")
                continue
            ref = target.get("refId")
            _unique(
                ref,
                isinstance(ref, str) and bool(ref),
                ref_ids,
                f"{tlabel}: missing refId",
                f"{tlabel}: duplicate refId {ref!r}",
                errors,
            )
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                errors.append(f"{tlabel}: missing or empty expr")
            if "datasource" in target and _datasource_uid(target["datasource"]) != DATASOURCE_UID:
                errors.append(f"{tlabel}: datasource uid is not {DATASOURCE_UID!r}")
    return errors


def load_dashboards(paths: Iterable[str | Path]) -> tuple[list[Dashboard], list[str]]:
    """Parse and check the files; uids and titles must also be unique across them."""
    dashboards, errors = [], []
    uids: dict[str, Path] = {}
    titles: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            errors.append(f"{path}: cannot read JSON: {exc}")
            continue
        errors.extend(check_dashboard(doc, str(path)))
        if not isinstance(doc, dict):
            continue
        for key, seen in (("uid", uids), ("title", titles)):
            value = doc.get(key)
            if isinstance(value, str) and value:
                if value in seen:
                    errors.append(f"{path}: {key} {value!r} already used by {seen[value]}")
                else:
                    seen[value] = path
        dashboards.append(Dashboard(path, doc))
    return dashboards, errors


# --- queries --------------------------------------------------------------------------


class QueryError(Exception):
    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent  # a bad expression, not worth asking again


@dataclass
class QueryResult:
    target: Target
    expr: str  # as sent
    series: int = 0
    nan: int = 0  # series whose value is NaN (e.g. a quantile of no observations)
    error: str | None = None
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.series > 0


def query(base_url: str, expr: str, timeout: float = 10.0) -> tuple[int, int]:
    """Instant query; returns (number of series, how many of them are NaN)."""
    url = base_url.rstrip("/") + "/api/v1/query"
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise QueryError(f"not an http(s) URL: {base_url}", permanent=True)
    data = urllib.parse.urlencode({"query": expr}).encode()
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=data, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        # Prometheus answers 400 (bad_data) / 422 (execution) with a JSON error.
        try:
            detail = json.load(exc).get("error", "")
        except (ValueError, AttributeError):
            detail = ""
        raise QueryError(
            f"HTTP {exc.code}: {detail or exc.reason}", permanent=exc.code in (400, 422)
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise QueryError(f"{url}: {exc}", permanent=False) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else body
        raise QueryError(f"query failed: {error}", permanent=True)
    data_ = body.get("data") or {}
    kind, result = data_.get("resultType"), data_.get("result")
    if kind in ("scalar", "string"):
        value = result[1] if isinstance(result, list) and len(result) == 2 else None
        return 1, int(str(value) == "NaN")
    if kind == "matrix":
        return len(result or []), 0
    series = result or []
    nan = sum(1 for s in series if str((s.get("value") or [None, None])[1]) == "NaN")
    return len(series), nan


def check_queries(
    base_url: str,
    targets: Iterable[Target],
    *,
    values: Mapping[str, str] | None = None,
    retries: int = 0,
    wait: float = 15.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] | None = None,
) -> list[QueryResult]:
    """Run every target's query; ask again (``retries`` times, ``wait`` apart) for the
    ones that came back empty or could not reach Prometheus."""
    results = []
    for target in targets:
        try:
            results.append(QueryResult(target, substitute(target.expr, values)))
        except SubstitutionError as exc:
            results.append(QueryResult(target, target.expr, error=str(exc), permanent=True))
    pending = [r for r in results if not r.permanent]
    for attempt in range(retries + 1):
        for result in pending:
            try:
                result.series, result.nan = query(base_url, result.expr, timeout)
                result.error = None
            except QueryError as exc:
                result.series, result.nan = 0, 0
                result.error, result.permanent = str(exc), exc.permanent
        pending = [r for r in pending if not r.ok and not r.permanent]
        if not pending or attempt == retries:
            break
        if log:
            log(
                f"{len(pending)} queries without data, asking again in {wait:g} s "
                f"({attempt + 1}/{retries})"
            )
        sleep(wait)
    return results


def report(results: list[QueryResult], panels: int, out: Callable[[str], None] = print) -> bool:
    for r in results:
        t = r.target
        where = f"{t.dashboard} / {t.panel} [{t.ref_id}]"
        if r.error:
            out(f"ERROR {where}: {r.error}\n      {r.expr}")
        elif r.series == 0:
            out(f"EMPTY {where}: 0 series\n      {r.expr}")
        else:
            nan = f" ({r.nan} NaN)" if r.nan else ""
            out(f"OK    {where}: {r.series} series{nan}")
    good = sum(r.ok for r in results)
    out(f"{panels} panels, {len(results)} queries, {good} returned data")
    return good == len(results)


def _var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.lstrip("$"), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="dashboard JSON files")
    parser.add_argument(
        "--prometheus", metavar="URL", help="also run every query against this Prometheus"
    )
    parser.add_argument(
        "--retries", type=int, default=0, help="ask again this many times for queries without data"
    )
    parser.add_argument(
        "--wait", type=float, default=15.0, help="seconds between retries (default 15)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="per query, seconds")
    parser.add_argument(
        "--var",
        type=_var,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a dashboard variable (default: All) or override of "
        "a built-in such as __rate_interval=2m",
    )
    args = parser.parse_args(argv)

    dashboards, errors = load_dashboards(args.files)
    for error in errors:
        print(f"FAIL  {error}")
    for d in dashboards:
        n_panels = sum(1 for _ in d.query_panels())
        n_targets = sum(1 for _ in d.targets())
        print(f"{d.path}: uid={d.doc.get('uid')!r}, {n_panels} panels, {n_targets} queries")
    ok = not errors
    if args.prometheus:
        targets = [t for d in dashboards for t in d.targets()]
        panels = sum(1 for d in dashboards for _ in d.query_panels())
        results = check_queries(
            args.prometheus,
            targets,
            values=dict(args.var),
            retries=args.retries,
            wait=args.wait,
            timeout=args.timeout,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
        ok = report(results, panels) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
