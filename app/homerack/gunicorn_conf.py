"""Gunicorn settings for HomeRack, read from the environment.

    gunicorn -c python:homerack.gunicorn_conf homerack.asgi:app

systemd passes the variables with ``EnvironmentFile=``; every one has a default,
so the file also works by hand. Workers load the app after the fork (no
``preload_app``): each worker binds the database in its ASGI lifespan startup.
"""

import glob
import logging
import os

from homerack.config import ServerSettings
from homerack.logs import gunicorn_logconfig

# The HOMERACK_* variables, checked (homerack.config): a bad value stops the start with
# an error naming the variable.
_settings = ServerSettings.load()

# Under systemd socket activation (LISTEN_FDS set, as in homerack@blue.socket) Gunicorn
# takes the inherited sockets and ignores ``bind``; bind matters for manual runs only.
bind = list(_settings.bind)

# Default: one worker per CPU this process may run on (one event loop per process).
workers = _settings.workers
worker_class = "uvicorn_worker.UvicornWorker"

# Seconds a worker gets to finish its requests after TERM/HUP; systemd's TimeoutStopSec
# must be longer. ``timeout`` kills a worker whose event loop is stuck that long.
graceful_timeout = _settings.graceful_timeout
timeout = _settings.timeout
# Longer than nginx's upstream keepalive_timeout (60 s) so nginx, not Gunicorn, closes
# idle upstream connections: no race between a close and a reuse.
keepalive = _settings.keepalive

# X-Forwarded-For/-Proto are trusted from these peers. Over a unix socket the peer has no
# address, so only "*" makes uvicorn read the headers. That is safe here: the socket is
# mode 0660 group www-data (only nginx connects). Under socket activation `bind` keeps its
# unix default, so "*" also covers the optional TCP listener of homerack@<colour>.socket, which only
# the web hosts reach (firewall + IPAddressAllow, localhost excluded). nginx must *set*
# X-Forwarded-For to $remote_addr, not append to a client-supplied one.
_unix_only = all(b.startswith("unix:") for b in bind)
forwarded_allow_ips = _settings.forwarded_allow_ips
if forwarded_allow_ips is None:
    forwarded_allow_ips = "*" if _unix_only else "127.0.0.1,::1"

# Gunicorn >= 25 opens a control socket for gunicornc, by default at a per-user path
# that a second instance of the same user would take over. Keep it in this service's
# RuntimeDirectory (systemd exports RUNTIME_DIRECTORY), or off: "" or "off" disables.
_runtime_dir = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
control_socket = _settings.control_socket
if control_socket is None:
    control_socket = os.path.join(_runtime_dir, "gunicorn.ctl") if _runtime_dir else "off"
control_socket_disable = control_socket in ("", "off")

# Errors to stderr (the journal), in the app's JSON line format with the syslog priority
# prefix under systemd (homerack/logs.py): Gunicorn's, uvicorn's ("Exception in ASGI
# application" with its traceback in one line), the app's and Python warnings alike.
# Gunicorn's (uvicorn's) access log stays off: the app writes its own JSON access line
# with the request id when HOMERACK_ACCESS_LOG=true, and nginx logs every request anyway.
errorlog = "-"
loglevel = _settings.log_level
accesslog = None
logconfig_dict = gunicorn_logconfig(loglevel)
logging.captureWarnings(True)
proc_name = "homerack"

# prometheus_client multiprocess mode: the directory must start empty and dead workers'
# live gauges must go. Not wiped on HUP (on_starting runs once), so counters never drop.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    if _metrics_dir:
        for path in glob.glob(os.path.join(_metrics_dir, "*.db")):
            os.unlink(path)


def child_exit(server, worker):
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
