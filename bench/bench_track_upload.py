"""Track upload under load: 1000 simulated patrol workers, each an authenticated session with
an active patrol, each sending a batch of 10 GPS fixes (1 Hz) every 10 s - an open-loop 100
requests/s - to ``POST /api/patrols/{id}/points`` on gunicorn (2 workers x 4 threads,
``civicgrid serve``'s options) on 127.0.0.1, for 2 minutes (``--quick``: 20 s), on SQLite (WAL,
a temp file) and on PostgreSQL (a throw-away cluster with durable commits).

Baseline on the SAME server at the same rate and with the same bodies: ``POST /bench/empty``
(bench/case_intake_wsgi.py: no Django, no database - the HTTP floor of server and client).
The server is started by bench/gunicorn_server.py (shared with other HTTP benchmarks).

Open loop: every worker has a fixed 10 s period with a random phase; a dispatcher hands each
due request to a pool of sender threads (each its own keep-alive connection), so a slow
server does not slow the offered rate. Latency is measured from the moment a request was due
(so client-side queueing counts against the server, no coordinated omission). Afterwards the
database is checked: the stored points equal the accepted ones. Targets: no errors, p99 < 300
ms; the ratio to the empty endpoint's p99 is reported.

    python bench/bench_track_upload.py [--quick]   (or: make bench BENCH_ARGS="track_upload --quick")
"""

from __future__ import annotations

import heapq
import http.client
import json
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
WORKERS = 1000
PERIOD_S = 10.0
POINTS_PER_BATCH = 10
SENDERS = 48
TARGET_P99_MS = 300.0
CSRF_TOKEN = "c" * 32


def _run_child(db: str, quick: bool, env: dict[str, str]) -> dict[str, Any]:
    from pgchild import run_child

    return run_child(__file__, ["--child", db] + (["--quick"] if quick else []), env)


def main(quick: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tools"))
    from run_tests import ThrowawayCluster, postgres_bindir  # type: ignore[import-not-found]

    base_env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{BENCH_DIR}"}
    base_env.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    base_env["CIVICGRID_EMBEDDED_SCHEDULER"] = "false"
    figures: dict[str, Any] = {"workers": WORKERS, "period_s": PERIOD_S, "points_per_batch": POINTS_PER_BATCH}
    tmp = tempfile.mkdtemp(prefix="civicgrid-bench-upload-")
    sqlite_env = {**base_env, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "CIVICGRID_VAR_DIR": tmp}
    figures["sqlite"] = _run_child("sqlite", quick, sqlite_env)
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL 15+ initdb found (apt-get install postgresql)")
    cluster = ThrowawayCluster(bindir)
    try:
        url = cluster.start()
        psql = [str(bindir / "psql"), "-h", str(cluster.sock), "-p", str(cluster.port), "-U", "postgres", "-q"]
        cluster._run(
            str(bindir / "createdb"), "-h", str(cluster.sock), "-p", str(cluster.port), "-U", "postgres", "civicgrid"
        )
        for setting in ("fsync = on", "synchronous_commit = on", "full_page_writes = on"):
            cluster._run(*psql, "-c", f"ALTER SYSTEM SET {setting}")
        cluster._run(*psql, "-c", "SELECT pg_reload_conf()")
        pg_tmp = tempfile.mkdtemp(prefix="civicgrid-bench-upload-pg-")
        figures["postgresql"] = _run_child(
            "postgresql", quick, {**base_env, "DATABASE_URL": url, "CIVICGRID_VAR_DIR": pg_tmp}
        )
    finally:
        cluster.stop()
    return figures


# --- child --------------------------------------------------------------------------------------


def prepare(n_workers: int) -> list[dict[str, Any]]:
    """Migrate, a sample district, ``n_workers`` grid chiefs each with a session and an active
    patrol. Returns [{"cookie", "patrol", "lon", "lat"}]."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from civicgrid.accounts.enums import Role
    from civicgrid.accounts.models import User
    from civicgrid.patrols.models import Patrol
    from civicgrid.territory.models import Duty, Responsibility
    from civicgrid.testing.factories import build_sample_district

    district = build_sample_district()
    now = timezone.now()
    users = [
        User(
            username=f"bench-walker{i}",
            display_name=f"巡查员{i}",
            role=Role.GRID_CHIEF,
            area=district.grids[i % len(district.grids)],
            is_active=True,
            password_changed_at=now,
            password="!",  # unusable; sessions are made directly below
        )
        for i in range(n_workers)
    ]
    User.objects.bulk_create(users, batch_size=1000)
    users = list(User.objects.filter(username__startswith="bench-walker").select_related("area").order_by("pk"))
    Responsibility.objects.bulk_create(
        [
            Responsibility(user=u, duty=Duty.GRID_CHIEF, area=u.area, area_code=u.area.code)  # type: ignore[union-attr]
            for u in users
        ],
        batch_size=1000,
    )
    started = now - __import__("datetime").timedelta(minutes=1)
    Patrol.objects.bulk_create(
        [
            Patrol(
                worker=u,
                duty=Duty.GRID_CHIEF,
                area_code=u.area.code,
                day=timezone.localdate(started),
                started_at=started,
            )  # type: ignore[union-attr]
            for u in users
        ],
        batch_size=1000,
    )
    patrol_of = dict(Patrol.objects.filter(worker__in=users).values_list("worker_id", "pk"))
    backend = next(b for b in settings.AUTHENTICATION_BACKENDS if "axes" not in b.lower())
    out = []
    for u in users:
        store = SessionStore()
        store[SESSION_KEY] = str(u.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = u.get_session_auth_hash()
        store.create()
        ring = u.area.geometry["coordinates"][0]  # type: ignore[union-attr,index]
        lon = sum(p[0] for p in ring[:-1]) / 4
        lat = sum(p[1] for p in ring[:-1]) / 4
        cookie = f"{settings.SESSION_COOKIE_NAME}={store.session_key}; csrftoken={CSRF_TOKEN}"
        out.append({"cookie": cookie, "patrol": patrol_of[u.pk], "lon": lon, "lat": lat})
    connections.close_all()
    return out


class OpenLoop:
    """Offers each worker's batch at its due time; ``SENDERS`` threads send them."""

    def __init__(self, port: int, workers: list[dict[str, Any]]) -> None:
        self.port = port
        self.workers = workers
        self.rng = random.Random(7)
        self.step = [0] * len(workers)

    def body(self, i: int, endpoint: str) -> tuple[str, bytes]:
        w = self.workers[i]
        now_ms = int(time.time() * 1000)
        k = self.step[i]
        self.step[i] += 1
        pts = [
            {
                "t": now_ms - (POINTS_PER_BATCH - j) * 1000,
                "lon": round(w["lon"] + 0.00002 * ((k * POINTS_PER_BATCH + j) % 200), 6),
                "lat": round(w["lat"] + 0.00001 * self.rng.uniform(-1, 1), 6),
                "acc": 5,
            }
            for j in range(POINTS_PER_BATCH)
        ]
        path = f"/api/patrols/{w['patrol']}/points" if endpoint == "upload" else "/bench/empty"
        return path, json.dumps({"points": pts}).encode()

    def run(self, endpoint: str, seconds: float) -> dict[str, Any]:
        jobs: queue.Queue[tuple[float, int] | None] = queue.Queue()
        results: list[tuple[float, int, int, int]] = []  # latency, status, accepted, lag_ms
        lock = threading.Lock()
        expected = 200

        def sender() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            while True:
                job = jobs.get()
                if job is None:
                    break
                due, i = job
                with lock:
                    path, body = self.body(i, endpoint)
                headers = {
                    "Content-Type": "application/json",
                    "Cookie": self.workers[i]["cookie"],
                    "X-CSRFToken": CSRF_TOKEN,
                }
                sent = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    status = resp.status
                except (OSError, http.client.HTTPException):
                    status = 0
                    data = b""
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                done = time.perf_counter()
                accepted = 0
                if status == 200 and endpoint == "upload":
                    accepted = int(json.loads(data)["accepted"])
                with lock:
                    results.append((done - due, status, accepted, int((sent - due) * 1000)))
            conn.close()

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        t0 = time.perf_counter() + 0.5
        heap = [(t0 + self.rng.uniform(0, PERIOD_S), i) for i in range(len(self.workers))]
        heapq.heapify(heap)
        end = t0 + seconds
        offered = 0
        while heap and heap[0][0] < end:
            due, i = heapq.heappop(heap)
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            jobs.put((due, i))
            offered += 1
            heapq.heappush(heap, (due + PERIOD_S, i))
        for _ in threads:
            jobs.put(None)
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        latencies = sorted(r[0] for r in results)
        statuses: dict[str, int] = {}
        for r in results:
            statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
        errors = sum(1 for r in results if r[1] != expected)

        def pct(p: float) -> float:
            return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 1)

        return {
            "offered": offered,
            "completed": len(results),
            "errors": errors,
            "statuses": statuses,
            "seconds": round(elapsed, 1),
            "per_s": round(len(results) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(latencies[-1] * 1000, 1),
            "max_send_lag_ms": max(r[3] for r in results),
            "points_accepted": sum(r[2] for r in results),
        }


def child(db: str, quick: bool) -> dict[str, Any]:
    from gunicorn_server import free_port, start_server, stop_server

    seconds, empty_seconds = (20.0, 15.0) if quick else (120.0, 45.0)
    workers = prepare(WORKERS)
    port = free_port()
    log_path = os.path.join(os.environ.get("CIVICGRID_VAR_DIR", tempfile.gettempdir()), "gunicorn.log")
    server = start_server(port, log_path=log_path)
    loop = OpenLoop(port, workers)
    try:
        loop.run("empty", 3.0)  # warm both workers and connections
        empty = loop.run("empty", empty_seconds)
        upload = loop.run("upload", seconds)
    finally:
        stop_server(server)
    if upload["errors"]:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            sys.stderr.write(log.read()[-4000:])
    from civicgrid.patrols.models import Patrol, TrackPoint

    stored = TrackPoint.objects.count()
    counted = sum(Patrol.objects.values_list("point_count", flat=True))
    consistent = stored == upload["points_accepted"] == counted
    ratio = round(upload["p99_ms"] / empty["p99_ms"], 2) if empty["p99_ms"] else None
    ok = upload["errors"] == 0 and upload["p99_ms"] < TARGET_P99_MS and consistent
    figures = {
        "measure_seconds": seconds,
        "empty": empty,
        "upload": upload,
        "p99_ratio_to_empty": ratio,
        "target_p99_ms": TARGET_P99_MS,
        "points_stored": stored,
        "db_consistent": consistent,
        "meets_target": ok,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    label = {"sqlite": "SQLite (WAL)", "postgresql": "PostgreSQL"}[db]
    print(
        f"{label}: {WORKERS} workers x 1 batch/{PERIOD_S:.0f}s -> {upload['per_s']} uploads/s for {seconds:.0f}s: "
        f"p50 {upload['p50_ms']} ms, p99 {upload['p99_ms']} ms (target < {TARGET_P99_MS:.0f}), "
        f"errors {upload['errors']}; empty endpoint p99 {empty['p99_ms']} ms -> ratio {ratio}x; "
        f"points stored {stored} (consistent {consistent}); {'OK' if ok else 'MISSED TARGET'}",
        flush=True,
    )
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(BENCH_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    if "--child" in sys.argv:
        print(json.dumps(child(sys.argv[sys.argv.index("--child") + 1], "--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
