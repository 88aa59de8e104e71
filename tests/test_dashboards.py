"""The Grafana dashboards and scripts/check-dashboards.py, their checker.

The structure of the shipped dashboards is checked here; whether their queries return
data needs a deployed Prometheus (``check-dashboards.py --prometheus``). The query half
of the checker is tested against a tiny fake Prometheus API: our client code, not
Prometheus.
"""

import copy
import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((ROOT / "roles/grafana/files/dashboards").glob("*.json"))
DS = {"type": "prometheus", "uid": "homerack-prometheus"}


def _load_checker():
    spec = importlib.util.spec_from_file_location(
        "check_dashboards", ROOT / "scripts/check-dashboards.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_checker()


def _dashboard(uid="test-dash", title="Test dashboard") -> dict:
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "schemaVersion": 39,
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": "Requests",
                "datasource": DS,
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                "targets": [
                    {"refId": "A", "expr": 'rate(up{instance=~"$instance"}[5m])', "datasource": DS}
                ],
            },
            {
                "id": 2,
                "type": "row",
                "title": "More",
                "collapsed": True,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": 8},
                "panels": [
                    {
                        "id": 3,
                        "type": "stat",
                        "title": "Up",
                        "datasource": DS,
                        "gridPos": {"h": 4, "w": 6, "x": 0, "y": 9},
                        "targets": [{"refId": "A", "expr": "up"}],
                    }
                ],
            },
        ],
        "templating": {
            "list": [
                {
                    "name": "instance",
                    "type": "query",
                    "datasource": DS,
                    "query": "label_values(up, instance)",
                }
            ]
        },
    }


def _write(tmp_path: Path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


# --- the shipped dashboards -------------------------------------------------------------


def test_both_dashboards_are_shipped():
    assert [p.name for p in DASHBOARDS] == ["homerack-application.json", "homerack-host.json"]


def test_shipped_dashboards_pass_the_structure_check():
    dashboards, errors = check.load_dashboards(DASHBOARDS)
    assert errors == []
    assert {d.doc["uid"] for d in dashboards} == {"homerack-app", "homerack-host"}
    for d in dashboards:
        assert d.doc["tags"] == ["homerack"]
        assert d.doc["refresh"] == "30s"
        assert d.doc["time"] == {"from": "now-1h", "to": "now"}
        variables = {v["name"]: v for v in d.doc["templating"]["list"]}
        assert variables["instance"]["includeAll"] and variables["instance"]["multi"]
        assert sum(1 for _ in d.targets()) >= 15


def test_shipped_queries_substitute_cleanly():
    """Every query has a value for each variable it uses (no stray $ left)."""
    dashboards, _ = check.load_dashboards(DASHBOARDS)
    for target in (t for d in dashboards for t in d.targets()):
        sent = check.substitute(target.expr)
        assert "$" not in sent, (target.panel, sent)
        if "rate(" in target.expr or "increase(" in target.expr:
            assert "$__rate_interval" in target.expr, target.panel  # not a fixed window


def test_the_command_line_accepts_the_shipped_dashboards(capsys):
    assert check.main([str(p) for p in DASHBOARDS]) == 0
    assert "uid='homerack-app'" in capsys.readouterr().out


# --- the structure check refuses bad input ----------------------------------------------


def test_a_good_dashboard_passes(tmp_path):
    dashboards, errors = check.load_dashboards([_write(tmp_path, "d.json", _dashboard())])
    assert errors == []
    # The panel nested in the collapsed row counts; the row itself is not a query panel.
    assert [t.panel for t in dashboards[0].targets()] == ["Requests", "Up"]


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda d: d.pop("uid"), "missing or empty 'uid'"),
        (lambda d: d.update(uid=""), "missing or empty 'uid'"),
        (lambda d: d.update(title=" "), "missing or empty 'title'"),
        (lambda d: d.update(id=7), "'id' must be null"),
        (lambda d: d["panels"][0].pop("datasource"), "datasource uid is not"),
        (
            lambda d: d["panels"][1]["panels"][0].update(datasource={"uid": "other"}),
            "datasource uid is not",
        ),
        (lambda d: d["panels"][0]["targets"][0].pop("expr"), "missing or empty expr"),
        (lambda d: d["panels"][0]["targets"][0].update(expr=""), "missing or empty expr"),
        (lambda d: d["panels"][0]["targets"][0].pop("refId"), "missing refId"),
        (lambda d: d["panels"][0].update(targets=[]), "no targets"),
        (lambda d: d["panels"][1]["panels"][0].update(id=1), "duplicate panel id 1"),
        (lambda d: d["panels"][0].pop("gridPos"), "gridPos"),
        (lambda d: d["panels"][0]["gridPos"].update(x=20), "outside the 24 columns"),
        (
            lambda d: d["templating"]["list"][0].update(datasource={"uid": "x"}),
            "variable 'instance'",
        ),
    ],
)
def test_the_structure_check_refuses(tmp_path, break_it, message):
    doc = copy.deepcopy(_dashboard())
    break_it(doc)
    _, errors = check.load_dashboards([_write(tmp_path, "bad.json", doc)])
    assert any(message in e for e in errors), errors


def test_invalid_json_is_reported(tmp_path):
    _, errors = check.load_dashboards([_write(tmp_path, "broken.json", "{not json")])
    assert len(errors) == 1 and "cannot read JSON" in errors[0]


def test_a_uid_used_twice_across_files_fails(tmp_path):
    first = _write(tmp_path, "a.json", _dashboard(uid="same", title="A"))
    second = _write(tmp_path, "b.json", _dashboard(uid="same", title="B"))
    _, errors = check.load_dashboards([first, second])
    assert errors == [f"{second}: uid 'same' already used by {first}"]


def test_the_command_line_exits_1_on_a_bad_file(tmp_path, capsys):
    doc = _dashboard()
    del doc["panels"][0]["datasource"]
    assert check.main([str(_write(tmp_path, "bad.json", doc))]) == 1
    assert "FAIL" in capsys.readouterr().out


# --- variable substitution ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "sent"),
    [
        ("rate(x[$__rate_interval])", "rate(x[1m])"),
        ("increase(x[${__range}]) + y[$__interval]", "increase(x[1h]) + y[15s]"),
        ('x{instance=~"$instance"}', 'x{instance=~".+"}'),
        ('x{instance=~"${instance}"}', 'x{instance=~".+"}'),
        ('x{instance=~"${instance:regex}"}', 'x{instance=~".+"}'),
        ('x{instance=~"[[instance]]"}', 'x{instance=~".+"}'),
        # An equality cannot take a wildcard: it becomes a regex matcher.
        ('x{instance="$instance"}', 'x{instance=~".+"}'),
        # Part of a regex: any text there; the rest of the value stays.
        ('x{name=~"${unit}\\\\.service"}', 'x{name=~".*\\\\.service"}'),
        ('x{name="$unit.service"}', 'x{name=~".*\\\\.service"}'),
        # A negative matcher on "All" must not exclude everything.
        ('x{instance!~"$instance"}', 'x{instance!="__homerack_check_no_value__"}'),
        # label_replace's $1 is no Grafana variable; other matchers stay as written.
        (
            'label_replace(x{job="node"}, "a", "$1", "b", "(.*)")',
            'label_replace(x{job="node"}, "a", "$1", "b", "(.*)")',
        ),
        (
            'sum by (le) (rate(h_bucket{instance=~"$instance", route!="/metrics"}'
            "[$__rate_interval]))",
            'sum by (le) (rate(h_bucket{instance=~".+", route!="/metrics"}[1m]))',
        ),
    ],
)
def test_substitute_without_values(expr, sent):
    assert check.substitute(expr) == sent


def test_substitute_with_values():
    values = {"instance": "lampadas.local", "__rate_interval": "2m"}
    assert (
        check.substitute('rate(x{instance=~"$instance"}[$__rate_interval])', values)
        == 'rate(x{instance=~"lampadas.local"}[2m])'
    )
    assert check.substitute('x{instance="${instance}"}', values) == 'x{instance="lampadas.local"}'
    assert check.substitute("topk($n, x)", {"n": "5"}) == "topk(5, x)"


def test_a_variable_outside_a_matcher_needs_a_value():
    with pytest.raises(check.SubstitutionError, match=r"\$n"):
        check.substitute("topk($n, x)")


# --- the query check, against a fake Prometheus ------------------------------------------


class FakePrometheus(BaseHTTPRequestHandler):
    """``/api/v1/query``: data for most expressions, an empty vector for ones naming
    ``absent_metric``, a 400 for ``syntax error``; ``late_metric`` has data from the
    third ask on. The server keeps every expression asked in ``queries``."""

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        expr = parse_qs(self.rfile.read(length).decode())["query"][0]
        self.server.queries.append(expr)
        if self.path != "/api/v1/query":
            return self._send(404, {"status": "error", "error": "not found"})
        if "syntax error" in expr:
            return self._send(
                400, {"status": "error", "errorType": "bad_data", "error": "parse error"}
            )
        if "absent_metric" in expr or (
            "late_metric" in expr and self.server.queries.count(expr) < 3
        ):
            return self._send(
                200, {"status": "success", "data": {"resultType": "vector", "result": []}}
            )
        result = [
            {"metric": {"instance": "a"}, "value": [1700000000, "1"]},
            {"metric": {"instance": "b"}, "value": [1700000000, "NaN"]},
        ]
        if expr.startswith("time()"):
            return self._send(
                200,
                {
                    "status": "success",
                    "data": {"resultType": "scalar", "result": [1700000000, "1700000000"]},
                },
            )
        return self._send(
            200, {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePrometheus)
    server.queries = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _target(expr, ref="A", panel="Panel"):
    return check.Target("Dash", panel, 1, ref, expr)


def test_query_counts_series_and_nans(prometheus):
    assert check.query(_url(prometheus), "up") == (2, 1)
    assert check.query(_url(prometheus), "absent_metric") == (0, 0)
    assert check.query(_url(prometheus), "time()") == (1, 0)


def test_a_bad_expression_is_a_permanent_error(prometheus):
    with pytest.raises(check.QueryError, match="HTTP 400: parse error") as err:
        check.query(_url(prometheus), "syntax error")
    assert err.value.permanent


def test_an_unreachable_prometheus_is_an_error():
    with pytest.raises(check.QueryError) as err:
        check.query("http://127.0.0.1:9", "up", timeout=2)
    assert not err.value.permanent
    with pytest.raises(check.QueryError, match="http"):
        check.query("file:///etc", "up")


def test_check_queries_substitutes_and_flags_empty_results(prometheus):
    lines = []
    results = check.check_queries(
        _url(prometheus),
        [
            _target('rate(present_metric{instance=~"$instance"}[$__rate_interval])', "A", "Good"),
            _target('absent_metric{instance=~"$instance"}', "B", "Bad"),
            _target("syntax error", "C", "Broken"),
            _target("topk($n, x)", "D", "Unresolved"),
        ],
    )
    assert prometheus.queries[0] == 'rate(present_metric{instance=~".+"}[1m])'
    assert [r.ok for r in results] == [True, False, False, False]
    assert results[0].series == 2 and results[1].series == 0
    assert "parse error" in results[2].error and "$n" in results[3].error
    assert not check.report(results, panels=4, out=lines.append)
    assert lines[0].startswith("OK    Dash / Good [A]: 2 series (1 NaN)")
    assert lines[1].startswith("EMPTY Dash / Bad [B]: 0 series")
    assert lines[2].startswith("ERROR Dash / Broken [C]: HTTP 400")
    assert lines[-1] == "4 panels, 4 queries, 1 returned data"


def test_check_queries_polls_until_data_arrives(prometheus):
    waits = []
    results = check.check_queries(
        _url(prometheus),
        [_target("late_metric"), _target("present_metric", "B"), _target("syntax error", "C")],
        retries=5,
        wait=7,
        sleep=waits.append,
    )
    assert [r.ok for r in results] == [True, True, False]
    assert waits == [7, 7]  # asked three times, then had it
    assert prometheus.queries.count("late_metric") == 3
    assert prometheus.queries.count("present_metric") == 1  # not asked again
    assert prometheus.queries.count("syntax error") == 1  # permanent: not asked again


def test_check_queries_gives_up_after_the_retries(prometheus):
    waits = []
    results = check.check_queries(
        _url(prometheus), [_target("absent_metric")], retries=2, wait=1, sleep=waits.append
    )
    assert not results[0].ok and waits == [1, 1]
    assert prometheus.queries.count("absent_metric") == 3


def test_the_command_line_checks_queries(prometheus, tmp_path, capsys):
    good = _dashboard()
    path = _write(tmp_path, "good.json", good)
    assert check.main(["--prometheus", _url(prometheus), str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 panels, 2 queries, 2 returned data"

    bad = _dashboard(uid="other", title="Other")
    bad["panels"][1]["panels"][0]["targets"][0]["expr"] = "absent_metric"
    path = _write(tmp_path, "bad.json", bad)
    assert check.main(["--prometheus", _url(prometheus), "--var", "instance=a", str(path)]) == 1
    out = capsys.readouterr().out
    assert "EMPTY Other / Up [A]: 0 series" in out
    assert out.splitlines()[-1] == "2 panels, 2 queries, 1 returned data"
    assert 'rate(up{instance=~"a"}[5m])' in prometheus.queries
