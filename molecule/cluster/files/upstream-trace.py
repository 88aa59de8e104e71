#!/usr/bin/env python3
"""Which app server nginx sent each request to during a rolling update, from nginx's access
log (log_format homerack: request_time, upstream, upstream_status, msec), checked against
the windows in which each app host was drained and its new instance started.

    upstream-trace.py LOG SINCE WINDOWS_JSON

WINDOWS_JSON: [{"host": name, "old": "addr:port", "new": "addr:port",
                "start": unix time the new instance began starting,
                "ready": unix time it became ready}, ...]
Prints one JSON object: requests per upstream, retried or failed answers, and per host the
requests that reached it while it was drained (old server after "start", new server before
"ready") and those the other hosts served meanwhile.
"""

import json
import re
import sys

LINE = re.compile(
    r" (?P<status>\d{3}) \d+ .* request_time=(?P<rt>[\d.]+) upstream=(?P<up>.*?) "
    r"upstream_status=(?P<ust>.*?) upstream_time=.*? msec=(?P<msec>[\d.]+)$"
)


def main(path: str, since: float, windows: list[dict]) -> dict:
    requests = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            m = LINE.search(line.rstrip("\n"))
            if not m or float(m["msec"]) < since or m["up"] == "-":
                continue
            end = float(m["msec"])
            requests.append(
                {
                    "start": end - float(m["rt"]),
                    "end": end,
                    "up": m["up"],
                    "tried": set(m["up"].split(", ")),
                    "status": m["status"],
                }
            )
    by_upstream: dict[str, int] = {}
    for r in requests:
        by_upstream[r["up"]] = by_upstream.get(r["up"], 0) + 1
    hosts = {}
    for w in windows:
        mine = {w["old"], w["new"]}
        hosts[w["host"]] = {
            "drained_seconds": round(w["ready"] - w["start"], 3),
            # Sent to the old instance after its host was drained and the new one began
            # starting, or to the new instance before it was ready: both must be none.
            "to_old_while_drained": sum(
                1 for r in requests if w["old"] in r["tried"] and r["start"] > w["start"]
            ),
            "to_new_before_ready": sum(
                1 for r in requests if w["new"] in r["tried"] and r["start"] < w["ready"]
            ),
            # The other hosts carried the load meanwhile.
            "served_by_others_meanwhile": sum(
                1
                for r in requests
                if not r["tried"] & mine and w["start"] <= r["start"] and r["end"] <= w["ready"]
            ),
        }
    return {
        "requests": len(requests),
        "by_upstream": by_upstream,
        # A comma means nginx tried a second server after the first failed.
        "retried": sum(1 for r in requests if "," in r["up"]),
        "server_errors": sum(1 for r in requests if r["status"] >= "500"),
        "hosts": hosts,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3]))))
