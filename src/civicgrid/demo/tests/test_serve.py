"""`civicgrid serve`: gunicorn with whitenoise, migrations applied first."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from civicgrid.common.management.commands import serve

ROOT = Path(__file__).resolve().parents[4]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_options():
    options = serve.gunicorn_options("127.0.0.1", 8123, 1, 4)
    assert options["bind"] == "127.0.0.1:8123"
    assert options["worker_class"] == "gthread" and options["threads"] == 4
    assert options["post_worker_init"] is serve._post_worker_init
    app = serve.CivicGridApplication(options)
    assert app.cfg.bind == ["127.0.0.1:8123"] and app.cfg.threads == 4


def test_worker_hook_starts_the_scheduler(monkeypatch):
    started = []
    monkeypatch.setattr("civicgrid.common.scheduler.start_periodic_jobs", lambda: started.append(True))
    serve._post_worker_init(object())
    assert started == [True]


@pytest.mark.django_db
def test_no_pending_migrations_in_the_test_database():
    assert serve.pending_migrations() == 0


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local test server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_migrates_a_fresh_database_and_serves_pages_and_static(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "CIVICGRID_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "CIVICGRID_ACCESS_LOG": "",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "civicgrid.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        status = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/login/")
                break
            except OSError:
                time.sleep(0.3)
        output = (tmp_path / "server.log").read_text(errors="replace")
        assert status == 200, output
        assert "应用" in output and f"http://127.0.0.1:{port}/" in output
        assert "csrfmiddlewaretoken" in body.decode()
        status, body = _get(f"http://127.0.0.1:{port}/static/vendor/htmx.min.js")
        assert status == 200 and len(body) > 1000
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
