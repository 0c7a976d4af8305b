"""What the HTTP benchmarks share: a gunicorn app server started and stopped, one timed request on a keep-alive
connection."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
from pathlib import Path


def timed_request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict | None = None,
) -> tuple[http.client.HTTPConnection, int, float]:
    """Send one request and read the whole answer: (the connection to use next, the status or 0 when the
    connection broke, seconds taken). A broken connection is replaced by a fresh one to the same server."""
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except OSError:
        conn.close()
        conn = http.client.HTTPConnection(conn.host, conn.port, timeout=conn.timeout)
        status = 0
    return conn, status, time.monotonic() - t0


def start_gunicorn(
    root: Path,
    port: int,
    env: dict[str, str],
    workers: int,
    threads: int,
    probe: str,
    headers: dict | None = None,
) -> subprocess.Popen:
    """``gunicorn tongxin.wsgi -w workers -k gthread --threads threads`` on 127.0.0.1:port in its own process
    group (stop it with :func:`stop`), returned once ``GET probe`` answers 200; exits the benchmark if it never
    does within two minutes."""
    proc = subprocess.Popen(
        [str(root / ".venv" / "bin" / "gunicorn"), "tongxin.wsgi", "-w", str(workers), "-k", "gthread",
         "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=root, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        _conn, status, _took = timed_request(http.client.HTTPConnection("127.0.0.1", port, timeout=2), "GET", probe,
                                             headers=headers)  # fmt: skip
        if status == 200:
            return proc
        time.sleep(0.5)
    stop(proc)
    raise SystemExit(f"gunicorn on 127.0.0.1:{port} did not answer GET {probe} with 200")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_gunicorn` (its whole process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
