"""Run a benchmark's measuring half in a child process against a throw-away PostgreSQL.

The parent starts a cluster (tools/run_tests.ThrowawayCluster), creates the `civicgrid`
database, runs ``<script> --child [--quick]`` with DATABASE_URL pointing at it, relays the
child's output and returns the JSON object the child prints on its last line. A child keeps
its database settings to itself, so benchmarks never collide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_on_postgres(script: str, quick: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tools"))
    from run_tests import ThrowawayCluster, postgres_bindir  # type: ignore[import-not-found]

    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL 15+ initdb found (apt-get install postgresql)")
    cluster = ThrowawayCluster(bindir)
    try:
        url = cluster.start()
        cluster._run(
            str(bindir / "createdb"), "-h", str(cluster.sock), "-p", str(cluster.port), "-U", "postgres", "civicgrid"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DATABASE_URL": url}
        env.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
        return run_child(script, ["--child"] + (["--quick"] if quick else []), env)
    finally:
        cluster.stop()


def run_child(script: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``script`` with ``args`` in a child process, relay its output, and return the JSON
    object it prints on its last line (a RuntimeError with its stderr when it fails)."""
    cmd = [sys.executable, str(Path(script).resolve()), *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line, flush=True)
    if proc.returncode != 0 or not lines:
        name = Path(script).stem
        raise RuntimeError(f"{name} child {args} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]
