"""``bench/run.py`` completes on the smallest demo region and writes its JSON.

A benchmark never asserts times: this only checks that the script, its two
references (the DuckDB read floor and the pandas KPI build) and the page reads
still run against today's code, and that the pandas city coverage rate agrees
with ``kuomian export kpi --level city``. The slow groups are skipped to stay
well under 30 seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_run_completes_on_a_small_region(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--persons",
            "500",
            "--runs",
            "1",
            "--work",
            str(tmp_path / "work"),
            "--skip",
            "rebuild,exports,recurring",
            "--json",
            str(out),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    steps = result["table"]
    for step in ("floor", "pandas", "import", "build (first)", "export kpi city"):
        assert steps[step]["median"] > 0
    assert any(s.startswith("page visits") for s in steps)
    assert result["check"]["ok"], result["check"]
    assert result["machine"]["cores"] >= 1 and result["raw"]
    assert "| step | median s |" in proc.stdout
