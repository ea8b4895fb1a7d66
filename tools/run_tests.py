"""`make test`: the whole suite on SQLite, then again on a throw-away PostgreSQL cluster.

The PostgreSQL run starts its own cluster (initdb + pg_ctl from the machine's PostgreSQL
15+) in a temporary folder, listening on a Unix socket only, so it never needs, or
touches, a server already running on the machine. PostgreSQL refuses to run as root,
so as root the cluster runs as the `postgres` user. With CI set, a missing PostgreSQL
is a failure; elsewhere the PostgreSQL run is skipped with a one-line reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_command(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *extra]


def run_pytest(label: str, env: dict[str, str], extra: list[str]) -> int:
    print(f"\n=== {label} ===", flush=True)
    code = subprocess.call(pytest_command(extra), cwd=ROOT, env=env)
    return 0 if code == 5 and not IN_CI else code  # 5 = no tests collected (filtered run)


def postgres_bindir() -> Path | None:
    override = os.environ.get("CIVICGRID_PG_BINDIR")
    candidates = [override] if override else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists() and (Path(cand) / "pg_ctl").exists():
            version = subprocess.run([str(Path(cand) / "postgres"), "--version"], capture_output=True, text=True)
            major = int("".join(ch for ch in version.stdout.split()[-1].split(".")[0] if ch.isdigit()) or 0)
            if major >= 15:
                return Path(cand)
    return None


class ThrowawayCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="civicgrid-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = 55432 + os.getpid() % 1000
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        self.sock.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
            os.chmod(self.root, 0o755)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.sock} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.root / "log"),
            "start",
        )
        return f"postgres://postgres@/civicgrid?host={self.sock}&port={self.port}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def main(argv: list[str]) -> int:
    extra = argv[1:]
    base_env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    base_env.pop("DATABASE_URL", None)
    failures = 0
    failures += run_pytest("SQLite", base_env, extra) != 0

    if os.environ.get("CIVICGRID_SKIP_POSTGRES") and not IN_CI:
        print("PostgreSQL run skipped: CIVICGRID_SKIP_POSTGRES is set")
    else:
        bindir = postgres_bindir()
        if bindir is None:
            message = "no PostgreSQL 15+ initdb found (apt-get install postgresql)"
            if IN_CI:
                print(f"FAIL: PostgreSQL run required in CI: {message}")
                return 1
            print(f"PostgreSQL run skipped: {message}")
        else:
            cluster = ThrowawayCluster(bindir)
            try:
                url = cluster.start()
                failures += run_pytest(f"PostgreSQL ({bindir})", {**base_env, "DATABASE_URL": url}, extra) != 0
            finally:
                cluster.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
