"""Shared helper for HTTP benchmarks: start gunicorn with `civicgrid serve`'s options on
loopback, serving ``case_intake_wsgi.application`` (the real CivicGrid WSGI app plus the
``/bench/empty`` and ``/bench/insert-one`` baseline endpoints), wait until it answers, stop it.

(Not named bench_*.py: bench/run.py runs every bench_*.py as a benchmark.)

    from gunicorn_server import free_port, start_server, stop_server
    port = free_port()
    server = start_server(port, env=os.environ)       # a child process: python gunicorn_server.py <port>
    ...
    stop_server(server)

The child inherits ``env`` (DATABASE_URL, DJANGO_SETTINGS_MODULE, CIVICGRID_*); the embedded
scheduler is left out (``post_worker_init=None``), as it is not part of any request path.
``synchronous`` (when given) sets CIVICGRID_INTAKE_ASYNC for the child (False: accepted-then-
processed intake, True: synchronous intake); ``app`` names another WSGI application
("module:attribute", importable from src/ or bench/) to serve instead of the default."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
WORKERS = 2
THREADS = 4  # per worker, as `civicgrid serve` defaults
DEFAULT_APP = "case_intake_wsgi:application"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, workers: int = WORKERS, threads: int = THREADS, app: str = DEFAULT_APP) -> None:
    """Runs in its own process: gunicorn with `civicgrid serve`'s options on the bench WSGI app
    (``app``: "module:attribute")."""
    import importlib

    import django

    django.setup()
    from civicgrid.common.management.commands.serve import CivicGridApplication, gunicorn_options

    options = gunicorn_options("127.0.0.1", port, workers, threads)
    options.update(accesslog=None, loglevel="warning", post_worker_init=None)  # no scheduler

    class BenchApplication(CivicGridApplication):
        def load(self) -> Any:
            module, _, attribute = app.partition(":")
            return getattr(importlib.import_module(module), attribute or "application")

    BenchApplication(options).run()


def start_server(
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = WORKERS,
    threads: int = THREADS,
    log_path: str | None = None,
    synchronous: bool | None = None,
    app: str = DEFAULT_APP,
) -> subprocess.Popen[bytes]:
    """Start the server in a child process and wait (60 s at most) until /bench/empty answers.
    ``log_path``: the server's stderr (gunicorn warnings, Django's error log) goes there.
    ``synchronous``: when given, CIVICGRID_INTAKE_ASYNC is set to its opposite in the child's
    environment (None: ``env`` decides). ``app``: the WSGI application ("module:attribute");
    it must answer GET /bench/empty with 200."""
    child_env = {**(env or os.environ)}
    if synchronous is not None:
        child_env["CIVICGRID_INTAKE_ASYNC"] = "false" if synchronous else "true"
    child_env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(BENCH_DIR), child_env.get("PYTHONPATH", "")])
    child_env.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), str(port), str(workers), str(threads), app],
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "ab") if log_path else None,  # noqa: SIM115 - the child owns it
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/empty")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not come up within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(BENCH_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    args = sys.argv[1:]  # port [workers threads [app]]
    serve(
        int(args[0]),
        int(args[1]) if len(args) > 1 else WORKERS,
        int(args[2]) if len(args) > 2 else THREADS,
        args[3] if len(args) > 3 else DEFAULT_APP,
    )
