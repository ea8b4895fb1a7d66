"""Case intake through the HTTP API (POST /api/cases/ with X-Api-Key and Idempotency-Key),
served by gunicorn (2 workers, gthread, 4 threads each: ``civicgrid serve``'s options) on
127.0.0.1, on SQLite (WAL, a temp file) and on PostgreSQL (a throw-away cluster).

API-key clients are accepted-then-processed (cases/submissions.py): the request validates and
writes one submission row (202 + token); a drainer thread in each gunicorn worker (woken on
each commit) turns submissions into cases in batches. Measured:

- (a) **accepted submissions/s** through the HTTP API (the headline ratio against insert-one),
  with the drainers running in the same workers at the same time;
- (b) **end to end**: from the phase's first submission to its last case existing (drain
  throughput, cases/s), the backlog left when the clients stop and how long it takes to
  drain, and each submission's wait (created -> processed, p50/p99);
- the **synchronous** intake as before (a second server started with
  CIVICGRID_INTAKE_ASYNC=false, paired with its own insert-one rounds).

Baselines on the SAME server (bench/case_intake_wsgi.py wraps the real WSGI app):

- ``/bench/insert-one``: one 200-byte row in its own transaction (the commit limit);
- ``/bench/empty``: no Django, no database (the HTTP floor of server + client);
- ``/bench/django/insert-one`` and ``/bench/django/empty``: the same two as Django views behind
  the product's middleware stack and URL resolver (the same-stack baselines).

The client: N threads, each with one keep-alive ``http.client`` connection, posting real
intake payloads (a random point in the sample district, a grid-handled category, a phone
number, a unique Idempotency-Key) for a fixed time; the baselines get the same body. Rounds
are interleaved (empty, insert-one, intake) and the best round of each endpoint counts.
Afterwards the database is checked: every 202 became exactly one case, and a retried key
returns the same case.

Where the time goes: for every phase the CPU time of the gunicorn processes (drainers
included), of the PostgreSQL server processes and of the client threads is read from /proc
and divided by the requests answered. The in-process check lists the SQL statements of one
accepted request, of one drained batch, and of one synchronous intake.

PostgreSQL runs with durable commits (fsync, synchronous_commit and full_page_writes on, as a
production server), unlike the test suite's throw-away settings. The embedded scheduler is off
(its other jobs are not part of intake); the drainer thread is switched on explicitly
(CIVICGRID_INTAKE_DRAIN_THREAD=true). Target: intake >= 0.5x the insert-one endpoint on both
databases.

    python bench/bench_case_intake.py [--quick]   (or: make bench BENCH_ARGS="case_intake --quick")
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn_server import BENCH_DIR, ROOT, THREADS, WORKERS, free_port, start_server, stop_server

CONNECTIONS = 8  # concurrent client connections (= workers x threads)
TARGET_RATIO = 0.5
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- CPU accounting from /proc ------------------------------------------------------------------


def _process_cpu(pid: int) -> float:
    """utime + stime of one process (all its threads) plus cutime + cstime (its children that
    exited and were reaped: a PostgreSQL backend whose connection closed), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is the state
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / CLK_TCK


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(k) for k in f.read().split()]
        except OSError:
            continue
    return kids


def tree_cpu(pid: int | None) -> float | None:
    """CPU seconds used so far by ``pid`` and its living descendants (None if unknown)."""
    if pid is None:
        return None
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += _process_cpu(current)
            stack += _children(current)
        except OSError:  # exited meanwhile
            continue
    return total


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postmaster_pid() -> int | None:
    """The PostgreSQL server's pid (first line of postmaster.pid), when the database is local."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cur:
            cur.execute("SHOW data_directory")
            data_dir = cur.fetchone()[0]
        with open(Path(data_dir) / "postmaster.pid") as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


# --- parent: one child process per database ------------------------------------------------------


def _run_child(db: str, quick: bool, env: dict[str, str]) -> dict[str, Any]:
    from pgchild import run_child

    return run_child(__file__, ["--child", db] + (["--quick"] if quick else []), env)


def main(quick: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tools"))
    from run_tests import ThrowawayCluster, postgres_bindir  # type: ignore[import-not-found]

    base_env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{BENCH_DIR}"}
    base_env.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    base_env["CIVICGRID_EMBEDDED_SCHEDULER"] = "false"
    base_env["CIVICGRID_INTAKE_DRAIN_THREAD"] = "true"
    figures: dict[str, Any] = {"workers": WORKERS, "threads_per_worker": THREADS, "connections": CONNECTIONS}

    # BENCH_INTAKE_DATABASES=postgresql (or sqlite) measures one database only.
    databases = os.environ.get("BENCH_INTAKE_DATABASES", "sqlite,postgresql").split(",")
    if "sqlite" in databases:
        tmp = tempfile.mkdtemp(prefix="civicgrid-bench-intake-")
        sqlite_env = {**base_env, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "CIVICGRID_VAR_DIR": tmp}
        figures["sqlite"] = _run_child("sqlite", quick, sqlite_env)
    if "postgresql" not in databases:
        return figures

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
        # Durable commits, as in production (the throw-away cluster starts without them).
        for setting in ("fsync = on", "synchronous_commit = on", "full_page_writes = on"):
            cluster._run(*psql, "-c", f"ALTER SYSTEM SET {setting}")
        cluster._run(*psql, "-c", "SELECT pg_reload_conf()")
        pg_tmp = tempfile.mkdtemp(prefix="civicgrid-bench-intake-pg-")
        pg_env = {**base_env, "DATABASE_URL": url, "CIVICGRID_VAR_DIR": pg_tmp}
        figures["postgresql"] = _run_child("postgresql", quick, pg_env)
    finally:
        cluster.stop()
    return figures


# --- child: prepare, serve, load, verify ----------------------------------------------------------


def prepare() -> dict[str, Any]:
    """Migrate, a sample district with a grid chief per grid, an API key, the bench table."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    from case_intake_wsgi import create_bench_table

    from civicgrid.accounts.enums import Role
    from civicgrid.cases import apikeys
    from civicgrid.cases.enums import TargetKind
    from civicgrid.cases.models import Category
    from civicgrid.territory.models import Duty, Responsibility
    from civicgrid.testing.factories import build_sample_district, make_user

    district = build_sample_district()
    for i, grid in enumerate(district.grids):
        chief = make_user(Role.GRID_CHIEF, grid, username=f"bench-chief{i}")
        Responsibility.objects.create(user=chief, duty=Duty.GRID_CHIEF, area=grid)
    leaves = Category.objects.filter(parent__isnull=False, is_active=True)
    codes = list(leaves.filter(handling=TargetKind.GRID_CHIEF).values_list("code", flat=True)) or list(
        leaves.values_list("code", flat=True)
    )
    issued = apikeys.apikey_create(name="bench-intake", rate_per_minute=100_000)
    create_bench_table()
    geometry = district.district.geometry
    assert isinstance(geometry, dict)
    ring = geometry["coordinates"][0]
    bbox = (min(p[0] for p in ring), min(p[1] for p in ring), max(p[0] for p in ring), max(p[1] for p in ring))
    connections.close_all()
    return {"api_key": issued.plaintext, "categories": codes, "bbox": bbox}


def start_intake_server(port: int, *, synchronous: bool = False) -> subprocess.Popen[bytes]:
    """gunicorn (bench/gunicorn_server.py) with a drainer thread in each worker (the scheduler is
    off) and the intake accepted-then-processed, or synchronous."""
    env = {**os.environ, "CIVICGRID_INTAKE_DRAIN_THREAD": "true"}
    return start_server(port, env=env, synchronous=synchronous)


class Loader:
    """Keep-alive HTTP load: ``connections`` threads, each its own connection, for ``seconds``."""

    def __init__(self, port: int, setup: dict[str, Any]) -> None:
        self.port = port
        self.api_key = str(setup["api_key"])
        self.categories = list(setup["categories"])
        self.bbox = tuple(setup["bbox"])
        self.run_id = uuid.uuid4().hex[:8]
        self.created_ids: list[int] = []  # case ids answered with 201 (synchronous phases)
        self.tokens: list[str] = []  # submission tokens answered with 202 (accepted phases)
        self.sent_keys: list[tuple[str, bytes, str]] = []  # a few (key, body, token) for the replay check
        self.extra_created = 0
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        """A machine client's headers: the API key only (no session, no CSRF token)."""
        return {"Content-Type": "application/json", "X-Api-Key": self.api_key}

    def body(self, rng: random.Random) -> bytes:
        x0, y0, x1, y1 = self.bbox
        payload = {
            "title": "小区门口路灯不亮",
            "description": "清泉街小区3号楼门口路灯连续三晚不亮, 老人夜里出行不便, 请尽快派人维修。",
            "category": rng.choice(self.categories),
            "lon": round(rng.uniform(x0 + 1e-4, x1 - 1e-4), 6),
            "lat": round(rng.uniform(y0 + 1e-4, y1 - 1e-4), 6),
            "address": "兴隆巷街道清泉街小区3号楼",
            "reporter_name": "王先生",
            "reporter_phone": f"138{rng.randrange(10**8):08d}",
        }
        return json.dumps(payload, ensure_ascii=False).encode()

    def run(
        self, endpoint: str, seconds: float, phase: str, cpu_pids: dict[str, int | None] | None = None
    ) -> dict[str, Any]:
        path, method, expected = {
            "empty": ("/bench/empty", "POST", 200),
            "insert_one": ("/bench/insert-one", "POST", 201),
            "django_empty": ("/bench/django/empty", "POST", 200),
            "django_insert_one": ("/bench/django/insert-one", "POST", 201),
            "intake": ("/api/cases/", "POST", 202),
            "intake_sync": ("/api/cases/", "POST", 201),
        }[endpoint]
        results: list[tuple[list[float], int, dict[int, int]]] = []
        start_gate = threading.Barrier(CONNECTIONS + 1)
        stop_at: list[float] = [0.0]

        def worker(n: int) -> None:
            rng = random.Random(f"{self.run_id}-{phase}-{endpoint}-{n}")
            latencies: list[float] = []
            errors = 0
            statuses: dict[int, int] = {}
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            i = 0
            start_gate.wait()
            while time.perf_counter() < stop_at[0]:
                i += 1
                body = self.body(rng)
                key = f"bench-{self.run_id}-{phase}-{n}-{i}"
                headers = {**self.headers(), "Idempotency-Key": key}
                t0 = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    status = resp.status
                except (OSError, http.client.HTTPException):
                    errors += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status != expected:
                    errors += 1
                elif endpoint == "intake":
                    token = str(json.loads(data)["token"])
                    with self._lock:
                        self.tokens.append(token)
                        if len(self.sent_keys) < 5 and i % 50 == 1:
                            self.sent_keys.append((key, body, token))
                elif endpoint == "intake_sync":
                    with self._lock:
                        self.created_ids.append(int(json.loads(data)["id"]))
            conn.close()
            with self._lock:
                results.append((latencies, errors, statuses))

        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(CONNECTIONS)]
        for t in threads:
            t.start()
        pids = cpu_pids or {}
        cpu_before = {name: tree_cpu(pid) for name, pid in pids.items()}
        client_before = client_cpu()
        t_start = time.perf_counter()
        stop_at[0] = t_start + seconds
        start_gate.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
        cpu_used = {name: tree_cpu(pid) for name, pid in pids.items()}
        client_used = client_cpu() - client_before
        latencies = sorted(x for lat, _e, _s in results for x in lat)
        statuses: dict[str, int] = {}
        for _lat, _e, st in results:
            for code, count in st.items():
                statuses[str(code)] = statuses.get(str(code), 0) + count
        ok = sum(c for code, c in statuses.items() if int(code) == expected)
        cpu_ms: dict[str, float | None] = {"client": round(client_used * 1000 / max(ok, 1), 3)}
        for name, before in cpu_before.items():
            after = cpu_used[name]
            cpu_ms[name] = round((after - before) * 1000 / max(ok, 1), 3) if before is not None and after else None
        return {
            "phase": phase,
            "requests": len(latencies),
            "ok": ok,
            "errors": sum(e for _lat, e, _s in results),
            "statuses": statuses,
            "seconds": round(elapsed, 2),
            "per_s": round(ok / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2)
            if latencies
            else None,
            # CPU milliseconds per answered request: gunicorn (Django + SQLite), the
            # PostgreSQL server processes, the client threads.
            "cpu_ms_per_request": cpu_ms,
            "cpu_cores_busy": round(
                sum(v for v in cpu_ms.values() if v is not None) * ok / 1000 / max(elapsed, 1e-9), 2
            ),
        }

    def api_key_only_status(self) -> int:
        """What a client sending only X-Api-Key (no session, no CSRF cookie) gets: 202 (it was a
        403 until cases/api.py tried the API key before the session check)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {**self.headers(), "Idempotency-Key": f"bench-{self.run_id}-key-only"}
            conn.request("POST", "/api/cases/", body=self.body(random.Random(2)), headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status == 202:
                self.tokens.append(str(json.loads(data)["token"]))
            return resp.status
        finally:
            conn.close()

    def replay_check(self) -> bool:
        """Each sampled key, posted again with the same body once drained: 200, the same token
        and the case its submission became."""
        from civicgrid.cases.models import IntakeSubmission

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            for key, body, token in self.sent_keys:
                headers = {**self.headers(), "Idempotency-Key": key}
                conn.request("POST", "/api/cases/", body=body, headers=headers)
                resp = conn.getresponse()
                data = json.loads(resp.read())
                case_id = IntakeSubmission.objects.filter(token=token).values_list("case_id", flat=True).first()
                if resp.status != 200 or data["token"] != token or case_id is None or data["case_id"] != case_id:
                    return False
        finally:
            conn.close()
        return bool(self.sent_keys)


def pending_count() -> int:
    from civicgrid.cases.models import IntakeSubmission, SubmissionStatus

    return IntakeSubmission.objects.filter(status=SubmissionStatus.PENDING).count()


def wait_drained(cpu_pids: dict[str, int | None] | None = None, timeout: float = 900.0) -> dict[str, Any]:
    """Wait until no submission is pending; the time it took, the backlog at the start and the
    CPU the server (and database) spent meanwhile."""
    pids = cpu_pids or {}
    before = {name: tree_cpu(pid) for name, pid in pids.items()}
    backlog = pending_count()
    t0 = time.perf_counter()
    while pending_count():
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"submissions still pending after {timeout} s")
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    cpu = {}
    for name, b in before.items():
        after = tree_cpu(pids[name])
        cpu[name] = round(after - b, 2) if b is not None and after is not None else None
    return {"backlog": backlog, "seconds": round(seconds, 2), "cpu_seconds": cpu}


def end_to_end(phase: str) -> dict[str, Any]:
    """The phase's submissions, from the first one's acceptance to the last case's creation."""
    from civicgrid.cases.models import IntakeSubmission, SubmissionStatus

    rows = list(
        IntakeSubmission.objects.filter(idempotency_key__contains=f"-{phase}-").values_list(
            "status", "created_at", "processed_at"
        )
    )
    done = [(c, p) for st, c, p in rows if st == SubmissionStatus.PROCESSED and p is not None]
    if not done:
        return {"submissions": len(rows), "processed": 0}
    first = min(c for c, _p in done)
    last = max(p for _c, p in done)
    waits = sorted((p - c).total_seconds() for c, p in done)
    span = max((last - first).total_seconds(), 1e-9)
    return {
        "submissions": len(rows),
        "processed": len(done),
        "first_accepted_to_last_case_s": round(span, 2),
        "cases_per_s": round(len(done) / span, 1),
        "wait_p50_ms": round(waits[len(waits) // 2] * 1000, 1),
        "wait_p99_ms": round(waits[min(len(waits) - 1, int(len(waits) * 0.99))] * 1000, 1),
        "wait_max_ms": round(waits[-1] * 1000, 1),
    }


def _timed(fn: Callable[[], Any], counter: StatementCounter | None = None) -> tuple[float, float]:
    from django.db import connection

    t0, c0 = time.perf_counter(), time.process_time()
    if counter is not None:
        with connection.execute_wrapper(counter):
            fn()
    else:
        fn()
    return time.perf_counter() - t0, time.process_time() - c0


def in_process_intake(setup: dict[str, Any]) -> dict[str, Any]:
    """In-process (Django's test client, no HTTP, no concurrency): the SQL statements (listed,
    abbreviated) and the median wall and CPU time of one ACCEPTED request, of one drained batch
    of 200 (per case), and of one SYNCHRONOUS intake (CASES_INTAKE_ASYNC off). (On PostgreSQL
    the driver's BEGIN/COMMIT do not pass through the execute wrapper; on SQLite BEGIN
    IMMEDIATE does.)"""
    from django.test import Client
    from django.test.utils import override_settings

    from civicgrid.cases.submissions import intake_drain

    loader = Loader(0, setup)
    rng = random.Random(1)
    client = Client()

    def post(key: str, expected: int) -> None:
        resp = client.post(
            "/api/cases/",
            data=loader.body(rng),
            content_type="application/json",
            headers={"X-Api-Key": setup["api_key"], "Idempotency-Key": key},
        )
        assert resp.status_code == expected, resp.content

    figures: dict[str, Any] = {}
    # One accepted request.
    post("bench-in-process-warm", 202)
    counter = StatementCounter()
    _timed(lambda: post("bench-in-process-0", 202), counter)
    times = [_timed(functools.partial(post, f"bench-in-process-{i}", 202)) for i in range(1, 21)]
    figures["accept"] = {
        "sql_statements": counter.count,
        "statements": counter.statements,
        "ms_median": round(statistics.median(t for t, _c in times) * 1000, 2),
        "cpu_ms_median": round(statistics.median(c for _t, c in times) * 1000, 2),
    }
    intake_drain()
    # One drained batch of 200.
    for i in range(200):
        post(f"bench-in-process-batch-{i}", 202)
    counter = StatementCounter()
    wall, cpu = _timed(intake_drain, counter)
    figures["drain_batch_200"] = {
        "sql_statements": counter.count,
        "statements": counter.statements,
        "ms": round(wall * 1000, 1),
        "cpu_ms": round(cpu * 1000, 1),
        "cpu_ms_per_case": round(cpu * 1000 / 200, 3),
    }
    # One synchronous intake (the path staff sessions use, and API keys with async off).
    with override_settings(CASES_INTAKE_ASYNC=False):
        post("bench-in-process-sync-warm", 201)
        counter = StatementCounter()
        _timed(lambda: post("bench-in-process-sync-0", 201), counter)
        times = [_timed(functools.partial(post, f"bench-in-process-sync-{i}", 201)) for i in range(1, 21)]
    figures["synchronous"] = {
        "sql_statements": counter.count,
        "statements": counter.statements,
        "ms_median": round(statistics.median(t for t, _c in times) * 1000, 2),
        "cpu_ms_median": round(statistics.median(c for _t, c in times) * 1000, 2),
    }
    return figures


def child(db: str, quick: bool) -> dict[str, Any]:
    os.environ["CIVICGRID_INTAKE_DRAIN_THREAD"] = "false"  # this process drains explicitly
    setup = prepare()
    warmup, seconds, rounds = (1.0, 4.0, 1) if quick else (2.0, 12.0, 3)
    load_before = [round(x, 2) for x in os.getloadavg()]
    port = free_port()
    server = start_intake_server(port)
    cpu_pids = {"server": server.pid, "database": postmaster_pid()}
    from django.db import connections

    connections.close_all()
    loader = Loader(port, setup)
    best: dict[str, dict[str, Any]] = {}
    intake_rounds: list[dict[str, Any]] = []

    def keep(endpoint: str, measured: dict[str, Any], r: int) -> None:
        measured["round"] = r + 1
        errors_so_far = best.get(endpoint, {}).get("errors_all_rounds", 0) + measured["errors"]
        if endpoint not in best or measured["per_s"] > best[endpoint]["per_s"]:
            best[endpoint] = measured
        best[endpoint]["errors_all_rounds"] = errors_so_far

    try:
        for r in range(rounds):
            for endpoint in ("empty", "insert_one", "django_empty", "django_insert_one", "intake"):
                loader.run(endpoint, warmup, f"w{r}")
                if endpoint == "intake":
                    wait_drained()
                measured = loader.run(endpoint, seconds, f"m{r}", cpu_pids)
                if endpoint == "intake":
                    measured["drain_after_clients_stopped"] = wait_drained(cpu_pids)
                    measured["end_to_end"] = end_to_end(f"m{r}")
                    intake_rounds.append(measured)
                keep(endpoint, measured, r)
        replay_ok = loader.replay_check()
        api_key_only = loader.api_key_only_status()
        wait_drained()
    finally:
        stop_server(server)
    # The synchronous path on a second server (CIVICGRID_INTAKE_ASYNC=false), paired with its
    # own insert-one rounds.
    sync_port = free_port()
    sync_server = start_intake_server(sync_port, synchronous=True)
    sync_pids = {"server": sync_server.pid, "database": cpu_pids["database"]}
    sync_loader = Loader(sync_port, setup)
    sync_loader.run_id = loader.run_id + "s"
    sync_best: dict[str, dict[str, Any]] = {}
    try:
        for r in range(1 if quick else 2):
            for endpoint in ("insert_one", "intake_sync"):
                sync_loader.run(endpoint, warmup, f"sw{r}")
                measured = sync_loader.run(endpoint, seconds, f"sm{r}", sync_pids)
                measured["round"] = r + 1
                if endpoint not in sync_best or measured["per_s"] > sync_best[endpoint]["per_s"]:
                    sync_best[endpoint] = measured
    finally:
        stop_server(sync_server)

    from case_intake_wsgi import bench_row_count

    from civicgrid.cases.models import Case, IntakeRecord, IntakeSubmission, SubmissionStatus

    accepted = set(loader.tokens)
    processed = IntakeSubmission.objects.filter(token__in=list(accepted), status=SubmissionStatus.PROCESSED)
    processed_cases = set(processed.exclude(case__isnull=True).values_list("case_id", flat=True))
    sync_created = len(sync_loader.created_ids)
    cases = Case.objects.count()
    records = IntakeRecord.objects.count()
    consistent = (
        len(accepted) == len(loader.tokens)
        and processed.count() == len(accepted) == len(processed_cases)
        and cases == len(accepted) + sync_created == records
        and len(set(sync_loader.created_ids)) == sync_created
        and IntakeSubmission.objects.exclude(status=SubmissionStatus.PROCESSED).count() == 0
    )
    in_process = in_process_intake(setup)
    rows = bench_row_count()

    intake, insert, empty = best["intake"], best["insert_one"], best["empty"]
    django_insert, django_empty = best["django_insert_one"], best["django_empty"]
    sync_intake, sync_insert = sync_best["intake_sync"], sync_best["insert_one"]
    errors = sum(b["errors_all_rounds"] for b in best.values())
    e2e = intake["end_to_end"]
    figures = {
        "measure_seconds": seconds,
        "rounds": rounds,
        "empty": empty,
        "insert_one": insert,
        "intake": intake,
        "intake_rounds": intake_rounds,
        "django_empty": django_empty,
        "django_insert_one": django_insert,
        "intake_vs_insert_one": round(intake["per_s"] / insert["per_s"], 3),
        "intake_vs_django_insert_one": round(intake["per_s"] / django_insert["per_s"], 3),
        "end_to_end_vs_django_insert_one": round((e2e.get("cases_per_s") or 0) / django_insert["per_s"], 3),
        "intake_vs_empty": round(intake["per_s"] / empty["per_s"], 3),
        "insert_one_vs_empty": round(insert["per_s"] / empty["per_s"], 3),
        "end_to_end_cases_per_s": e2e.get("cases_per_s"),
        "end_to_end_vs_insert_one": round((e2e.get("cases_per_s") or 0) / insert["per_s"], 3),
        "synchronous": {
            "insert_one": sync_insert,
            "intake": sync_intake,
            "intake_vs_insert_one": round(sync_intake["per_s"] / sync_insert["per_s"], 3),
        },
        "target_ratio": TARGET_RATIO,
        "errors": errors,
        "cases_in_db": cases,
        "submissions_accepted_202": len(loader.tokens),
        "cases_answered_201_synchronous": sync_created,
        "cases_consistent": consistent,
        "idempotent_replay_ok": replay_ok,
        "api_key_only_status": api_key_only,
        "bench_rows": rows,
        "in_process": in_process,
        "load_average_before": load_before,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    label = {"sqlite": "SQLite (WAL)", "postgresql": "PostgreSQL"}[db]
    print(
        f"{label}: accepted {intake['per_s']:.0f} submissions/s (p50 {intake['p50_ms']} ms, p99 {intake['p99_ms']} ms) "
        f"vs insert-one {insert['per_s']:.0f}/s -> {figures['intake_vs_insert_one']:.2f}x, vs the same-stack (Django) "
        f"insert-one {django_insert['per_s']:.0f}/s -> {figures['intake_vs_django_insert_one']:.2f}x "
        f"(target >= {TARGET_RATIO}x; Django empty {django_empty['per_s']:.0f}/s, bare empty {empty['per_s']:.0f}/s); "
        f"end to end {e2e.get('cases_per_s')} cases/s -> {figures['end_to_end_vs_insert_one']:.2f}x "
        f"(wait p50 {e2e.get('wait_p50_ms')} ms, p99 {e2e.get('wait_p99_ms')} ms; backlog "
        f"{intake['drain_after_clients_stopped']['backlog']} drained in "
        f"{intake['drain_after_clients_stopped']['seconds']} s); synchronous {sync_intake['per_s']:.0f} cases/s vs "
        f"insert-one {sync_insert['per_s']:.0f}/s -> {figures['synchronous']['intake_vs_insert_one']:.3f}x; "
        f"errors {errors}; statements: accept {in_process['accept']['sql_statements']}, batch of 200 "
        f"{in_process['drain_batch_200']['sql_statements']}, "
        f"synchronous {in_process['synchronous']['sql_statements']}; "
        f"CPU ms: accept {in_process['accept']['cpu_ms_median']}, per drained case "
        f"{in_process['drain_batch_200']['cpu_ms_per_case']}, "
        f"synchronous {in_process['synchronous']['cpu_ms_median']}; "
        f"CPU ms per accepted request over HTTP (drainers included): {intake['cpu_ms_per_request']}; "
        f"db consistent {consistent}, replay ok {replay_ok}, X-Api-Key alone -> {api_key_only}",
        flush=True,
    )
    return figures


class StatementCounter:
    """Counts SQL statements through ``connection.execute_wrapper`` (CaptureQueriesContext
    loses them: every request's ``request_started`` signal resets the queries log)."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        self.statements.append(_abbreviate(sql, params))
        return execute(sql, params, many, context)


def _abbreviate(sql: str, params: Any) -> str:
    """``SELECT ... FROM "cases_case" WHERE ...`` -> ``SELECT cases_case WHERE ...`` (short)."""
    words = sql.replace('"', "").split()
    if not words:
        return ""
    verb = words[0].upper()
    if verb == "SELECT" and "FROM" in words:
        rest = words[words.index("FROM") + 1 :]
        return " ".join(["SELECT", *rest])[:90]
    if verb == "INSERT":
        if "UNNEST" in sql and params and isinstance(params[0], list | tuple):  # PostgreSQL bulk_create
            rows = len(params[0])
        else:
            rows = sql.count("), (") + 1
        return f"INSERT {' '.join(words[1:4])} ({rows} row{'s' if rows > 1 else ''})"[:90]
    if verb == "UPDATE":
        return f"UPDATE {words[1]} SET ..."
    return " ".join(words)[:60]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(BENCH_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    if "--child" in sys.argv:
        print(json.dumps(child(sys.argv[sys.argv.index("--child") + 1], "--quick" in sys.argv)))
    else:
        print(json.dumps(main("--quick" in sys.argv), ensure_ascii=False, indent=2))
