"""gunicorn configuration for Tongxin (docs/deploy.md). Every value can be overridden from the environment
(the systemd unit reads /etc/tongxin/tongxin.env) or on the command line.

gunicorn listens on loopback only: nginx in front terminates TLS, serves /static/ and the protected media, and
is the only client, which is what lets the app trust X-Forwarded-Proto/-For from it (TRUSTED_PROXIES).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

wsgi_app = "tongxin.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests are mostly short database work: processes for the cores, a few threads each for waits on PostgreSQL.
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # the xlsx imports run in the worker, not here
graceful_timeout = 30
keepalive = 5
# Restart each worker after this many requests (bounded memory growth), staggered so they do not restart together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Only nginx on this host may tell gunicorn the scheme (wsgi.url_scheme) — the same list as the app's.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips
# Logs to stderr (the journal). The app logs JSON (LOG_FORMAT); gunicorn's lines and its access log are JSON
# too, the access log with nginx's request id, so one grep finds a request in both.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's own lines as JSON too, and every "time" in ISO 8601 UTC like the app's (tongxin/core/gunicorn_logging.py)
logger_class = "tongxin.core.gunicorn_logging.Logger"
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "request_id": "%({x-request-id}i)s", "remote": "%(h)s",'
    ' "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s}'
)
# /metrics sums the request histogram over the worker processes through files in this directory; it is emptied
# when gunicorn starts (systemd gives a fresh RuntimeDirectory too).
metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "/run/tongxin/metrics"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
# gunicornc's control socket beside it (not in the service user's home, which systemd keeps read-only)
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", str(metrics_dir.parent / "gunicorn.ctl"))
preload_app = False


def on_starting(server: Any) -> None:
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
