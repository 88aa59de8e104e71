#!/usr/bin/python3
"""Wait until a HomeRack instance answers its readiness check, or say why it never will.

    homerack-ready.py UNIT SOCKET PATH TIMEOUT

Gunicorn tells systemd it is ready before its workers have imported the app, and the
socket accepts connections even while the service restarts, so neither "active" nor a
connect proves anything. This asks GET PATH over the unix SOCKET (3 s per try) until it
answers 200, and gives up at once when systemd reports the UNIT failed or restarting.
Exit 0 when ready, 1 with the reason on stderr otherwise. Runs on the target host.
"""

import http.client
import socket
import subprocess
import sys
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=3)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def unit_state(unit: str) -> tuple[str, int]:
    out = subprocess.run(
        ["systemctl", "show", "--property=ActiveState,NRestarts", unit],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return props.get("ActiveState", "unknown"), int(props.get("NRestarts") or 0)


def main(unit: str, sock: str, path: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        state, restarts = unit_state(unit)
        if state in ("failed", "inactive") or restarts > 0:
            why = f" after {restarts} restarts: it crashes while starting" if restarts else ""
            print(f"{unit} is {state}{why}", file=sys.stderr)
            return 1
        try:
            conn = UnixConnection(sock)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return 0
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(1)
    print(f"{unit}: {path} did not answer 200 within {timeout:.0f} s ({last})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
