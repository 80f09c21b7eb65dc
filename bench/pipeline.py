"""Time the pipeline on the demo region: demo → import → build → exports.

    python bench/pipeline.py --persons 120000 --runs 3 [--work DIR] [--json OUT]

Each step runs as the `kuomian` command a user types (a fresh process), so
start-up costs count. Reports the median wall time of the runs, the peak memory
(max RSS) of each step, and the sizes of the demo files and the database.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

STEPS = ("demo", "import", "build", "export")


def _run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB) of one command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, rusage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"kuomian {' '.join(args)}: {proc.stderr.read().decode()}")
    return seconds, rusage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_run(persons: int, work: Path) -> dict:
    demo, db = work / "demo", work / "bench.duckdb"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out: dict = {}
    out["demo"] = _run(["demo", "--out", str(demo), "--persons", str(persons)])
    out["import"] = _run(["import", str(demo), "--db", str(db)])
    out["build"] = _run(["build", "--db", str(db)])
    t0 = time.perf_counter()
    peak = 0.0
    for what in ("targets", "problems", "entities", "imports"):
        peak = max(
            peak, _run(["export", what, "--db", str(db), "--out", str(work / f"{what}.csv")])[1]
        )
    for level in ("city", "street", "community"):
        peak = max(
            peak,
            _run(
                [
                    "export",
                    "kpi",
                    "--level",
                    level,
                    "--db",
                    str(db),
                    "--out",
                    str(work / f"kpi_{level}.csv"),
                ]
            )[1],
        )
    out["export"] = (time.perf_counter() - t0, peak)
    out["sizes"] = {"demo_mib": _size(demo) / 2**20, "db_mib": _size(db) / 2**20}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=120_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("bench/out/pipeline"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    runs = [one_run(args.persons, args.work) for _ in range(args.runs)]
    result = {
        "persons": args.persons,
        "runs": args.runs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}",
        "median_seconds": {s: statistics.median(r[s][0] for r in runs) for s in STEPS},
        "all_seconds": {s: [round(r[s][0], 1) for r in runs] for s in STEPS},
        "peak_mib": {s: max(r[s][1] for r in runs) for s in STEPS},
        "sizes": runs[-1]["sizes"],
    }
    print(f"{args.persons} persons, {args.runs} runs on {result['machine']}")
    print("| step | median s | runs (s) | peak MiB |\n|---|---|---|---|")
    for s in STEPS:
        print(
            f"| {s} | {result['median_seconds'][s]:.1f} | {result['all_seconds'][s]} | "
            f"{result['peak_mib'][s]:.0f} |"
        )
    print(
        f"demo files {result['sizes']['demo_mib']:.0f} MiB, "
        f"database {result['sizes']['db_mib']:.0f} MiB"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
