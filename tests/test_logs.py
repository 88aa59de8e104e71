"""The JSON line format and the syslog priority prefix for journald."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import homerack
from homerack.logs import JsonFormatter, journal_stream, syslog_priority

APP_DIR = str(Path(homerack.__file__).resolve().parents[1])  # the package under test


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        (logging.CRITICAL, 2),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (logging.INFO, 6),
        (logging.DEBUG, 7),
        (25, 6),
        (logging.NOTSET, 7),
    ],
)
def test_syslog_priorities(level, priority):
    assert syslog_priority(level) == priority


def _record(level=logging.ERROR, msg="Exception in ASGI application\n", exc=True):
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("uvicorn.error", level, __file__, 1, msg, (), exc_info)


def test_an_exception_is_one_prefixed_line():
    line = JsonFormatter(syslog_prefix=True).format(_record())
    assert "\n" not in line
    match = re.fullmatch(r"<3>(\{.*\})", line)
    assert match, line
    doc = json.loads(match.group(1))
    assert doc["level"] == "error" and doc["logger"] == "uvicorn.error"
    assert doc["msg"] == "Exception in ASGI application"  # uvicorn's newline dropped
    assert doc["exc"].startswith("Traceback") and "RuntimeError: boom\nsecond line" in doc["exc"]
    assert isinstance(doc["pid"], int)


def test_no_prefix_outside_the_journal():
    line = JsonFormatter(syslog_prefix=False).format(_record(logging.WARNING, "careful", False))
    assert json.loads(line)["msg"] == "careful" and line.startswith("{")


def test_extra_fields_and_the_stack_are_kept():
    record = _record(logging.INFO, "hello", False)
    record.route = "/api/racks"
    record.stack_info = "Stack (most recent call last):\n  here"
    doc = json.loads(JsonFormatter(syslog_prefix=False).format(record))
    assert doc["route"] == "/api/racks" and doc["stack"].endswith("here")


def test_journal_stream_matches_the_device_and_inode(tmp_path, monkeypatch):
    with open(tmp_path / "a", "w") as a, open(tmp_path / "b", "w") as b:
        st = os.fstat(a.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert journal_stream(a) is True
        assert journal_stream(b) is False  # the variable was inherited, stderr moved
        assert JsonFormatter().syslog_prefix is journal_stream()  # default: detect stderr
        monkeypatch.setenv("JOURNAL_STREAM", "garbage")
        assert journal_stream(a) is False
        monkeypatch.delenv("JOURNAL_STREAM")
        assert journal_stream(a) is False


def test_a_record_no_handler_takes_is_still_one_json_line():
    """A logger cut off from the root's handler (another logging setup) falls back to
    logging.lastResort: after logs.configure() that writes the same JSON line, not
    Python's plain multi-line text."""
    code = """
import logging
from homerack import logs
logs.configure()
lost = logging.getLogger("falcon")
lost.propagate = False
try:
    raise RuntimeError("boom\\nsecond line")
except RuntimeError:
    lost.error("[FALCON] Unhandled exception in ASGI app", exc_info=True)
"""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([APP_DIR, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    record = json.loads(lines[0])
    assert record["logger"] == "falcon" and "RuntimeError: boom\nsecond line" in record["exc"]
