"""`make bench`: runs every bench/bench_*.py and writes bench/results/<name>.json.

Each benchmark module defines ``main(quick: bool) -> dict`` that measures the subject
against a baseline run in the same process (raw SQL, raw shapely, an empty endpoint),
prints a line with the ratio, and returns the figures. ``make bench BENCH_ARGS="locate"``
runs only the benchmarks whose names contain "locate"; ``--quick`` shrinks the data.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    results_dir = ROOT / "results"
    results_dir.mkdir(exist_ok=True)
    failed = 0
    for path in sorted(ROOT.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if names and not any(n in name for n in names):
            continue
        print(f"\n### {name}", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        started = time.perf_counter()
        try:
            figures = module.main(quick)
        except Exception as exc:  # a failing benchmark must not hide the others
            print(f"FAILED: {exc!r}")
            failed += 1
            continue
        record = {
            "benchmark": name,
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "quick": quick,
            "seconds": round(time.perf_counter() - started, 2),
            "figures": figures,
        }
        (results_dir / f"{name}.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
