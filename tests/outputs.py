"""Digests of everything ``kuomian`` writes for a demo region: the demo's own
files, and every export of the registry it builds.

A redesign that changes no behaviour leaves every digest as it was; the
digests of the suite's small demo are kept in ``tests/golden/`` and checked by
``test_outputs_unchanged.py``. Run it by hand for a larger region:

    python tests/outputs.py --persons 120000 --seed 2025 --work /tmp/k > digests.txt
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import sys
from pathlib import Path

EXPORTS = (
    ("targets",),
    ("kpi", "--level", "city"),
    ("kpi", "--level", "street"),
    ("kpi", "--level", "community"),
    ("problems",),
    ("entities",),
    ("imports",),
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def demo_digests(demo: Path) -> dict[str, str]:
    """sha256 of every file the demo generator wrote, by relative path."""
    return {
        f"demo/{p.relative_to(demo).as_posix()}": _sha(p)
        for p in sorted(demo.rglob("*"))
        if p.is_file()
    }


def export_digests(db: Path, work: Path) -> dict[str, str]:
    """sha256 of every contract export of the registry in ``db``."""
    from analytics.cli import main as kuomian

    out = {}
    for args in EXPORTS:
        name = "-".join(a.lstrip("-") for a in args) + ".csv"
        path = work / name
        if kuomian(["export", *args, "--db", str(db), "--out", str(path)]) != 0:
            raise RuntimeError(f"export {args} failed")
        out[f"export/{name}"] = _sha(path)
    return out


def run(persons: int, seed: int, work: Path) -> dict[str, str]:
    """Generate, import, build and export a demo region under ``work``."""
    from analytics.cli import main as kuomian

    demo, db = work / "demo", work / "kuomian.duckdb"
    if kuomian(["demo", "--out", str(demo), "--persons", str(persons), "--seed", str(seed)]):
        raise RuntimeError("demo failed")
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        failed = kuomian(["import", str(demo), "--db", str(db)])
    if failed or kuomian(["build", "--db", str(db)]):
        raise RuntimeError("import or build failed")
    printed = hashlib.sha256(report.getvalue().encode("utf-8")).hexdigest()
    return {**demo_digests(demo), "stdout/import-report.txt": printed, **export_digests(db, work)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--work", type=Path, required=True)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    sys.stdout.write("".join(f"{v}  {k}\n" for k, v in run(a.persons, a.seed, a.work).items()))


if __name__ == "__main__":
    main()
