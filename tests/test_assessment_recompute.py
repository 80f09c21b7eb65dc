"""The assessment export (``kuomian export assessment``) recomputed in pandas from the
KPI exports (``kuomian export kpi --level street --as-of D``) of its baseline and
as-of dates and the rows of the imported task files, cell by cell, as the data
contract's "Quarter and year" section defines each column.

The region is tests/test_assessment.py's (five streets, four dates 2024-06-30 ..
2025-06-30, a task workbook on 2024-12-31 with problem rows and a task CSV on
2025-06-30 that replaces it), here built with ``kuomian build --as-of`` for every
date so that the KPI exports exist. Cases:

- 2024 (goal year 2025, two years left): baseline the earliest date in 2024 (no date
  before it), as-of its newest; default tasks ``ceil(gap / 2)``, S1's imported 2024
  coverage task 6;
- 2025 at its newest date: S4 only at the baseline, S5 only at the as-of date (a
  missing side is gap 0), S2 falls back (negative done, task 0: empty completion),
  tasks of the 2025-06-30 file;
- 2025 as of 2025-03-31: the 2024-12-31 workbook in force, its 12-digit code
  counted by its street and its bad rows ignored.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from batchgen import REGION
from test_assessment import D0, D1, D2, D3, write_region

from analytics.cli import main as kuomian
from analytics.quarter import ASSESSMENT_COLUMNS

DATES = (D0, D1, D2, D3)
GOAL_YEARS = (2025, 2035)  # the default goals (data contract)
# The task files of the region's batches: the date of their batch, and how each reads.
TASK_FILES = {
    D1: ("任务分解.xlsx", {"header": 1}),
    D3: ("任务分解.csv", {}),
}
TASK_ALIASES = {
    "street_code": ("街道编码", "区划代码", "街道代码"),
    "year": ("年度", "考核年度"),
    "coverage_task": ("参保扩面任务", "扩面任务"),
    "structure_task": ("职工参保任务", "提升结构比任务"),
}
MEASURES = ("coverage", "structure")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("assessment-recompute")
    folders = write_region(root / "batches")
    db = root / "kuomian.duckdb"
    assert kuomian(["import", *map(str, folders), "--db", str(db)]) == 0
    kpis = {}
    for d in DATES:
        assert kuomian(["build", "--db", str(db), "--as-of", d.isoformat()]) == 0
        out = root / f"kpi_{d:%Y%m%d}.csv"
        argv = ["export", "kpi", "--db", str(db), "--level", "street"]
        assert kuomian([*argv, "--as-of", d.isoformat(), "--out", str(out)]) == 0
        kpis[d] = pd.read_csv(out, dtype=str, keep_default_na=False)
    folder = {f.name: f for f in folders}
    tasks = {
        d: _read_tasks(folder[d.isoformat()] / name, kw) for d, (name, kw) in TASK_FILES.items()
    }
    return {"root": root, "db": db, "kpi": kpis, "tasks": tasks}


# ---------------------------------------------------------------- the task file's rows


def _whole(value: str) -> int | None | bool:
    """A task cell: None when empty, the number when a non-negative whole number,
    False when invalid."""
    text = str(value).strip()
    if text in ("", "nan", "None"):
        return None
    try:
        number = Fraction(text)
    except ValueError:
        return False
    return int(number) if number.denominator == 1 and number >= 0 else False


def _read_tasks(path: Path, kw: dict) -> pd.DataFrame:
    """The valid rows of a task file as the contract reads them: street code by its
    first 9 digits, in the region; ``2025年`` is 2025; each task empty or a
    non-negative whole number; not both empty. Other rows are problems, not tasks."""
    if path.suffix == ".xlsx":
        kw = {**kw, "engine": "openpyxl"}
    read = pd.read_excel if path.suffix == ".xlsx" else pd.read_csv
    raw = read(path, dtype=str, keep_default_na=False, **kw)
    columns = {
        next(c for c in raw.columns if c in aliases): field
        for field, aliases in TASK_ALIASES.items()
    }
    raw = raw[list(columns)].rename(columns=columns)
    rows = []
    for rec in raw.to_dict("records"):
        code = str(rec["street_code"]).strip()
        year = re.fullmatch(r"(\d{4})年?", str(rec["year"]).strip())
        cov, struct = _whole(rec["coverage_task"]), _whole(rec["structure_task"])
        if not re.fullmatch(r"\d{9}|\d{12}", code) or not code.startswith(REGION):
            continue
        if year is None or cov is False or struct is False or (cov is None and struct is None):
            continue
        rows.append(
            {
                "street_code": code[:9],
                "year": int(year.group(1)),
                "coverage_task": cov,
                "structure_task": struct,
            }
        )
    return pd.DataFrame(rows, columns=list(TASK_ALIASES))


# ---------------------------------------------------------------- the recomputation


def _window(year: int, as_of: dt.date | None) -> tuple[int, dt.date, dt.date]:
    goal_year = min(g for g in GOAL_YEARS if g >= year)
    before = [d for d in DATES if d < dt.date(year, 1, 1)]
    within = [d for d in DATES if d.year == year]
    baseline = max(before) if before else min(within)
    return goal_year, baseline, as_of or max(within)


def recompute(region: dict, year: int, as_of: dt.date | None = None) -> pd.DataFrame:
    """Every contract column of the assessment, from the two KPI CSVs and the task rows."""
    goal_year, baseline, as_of = _window(year, as_of)
    base, now = (region["kpi"][d].set_index("code") for d in (baseline, as_of))
    in_force = max(d for d in TASK_FILES if d <= as_of)
    tasks = region["tasks"][in_force]
    tasks = tasks[tasks["year"] == year].set_index("street_code")
    years_left = goal_year - year + 1
    rows = []
    for code in sorted(set(base.index) | set(now.index)):
        name = now["name"].get(code, "") or base["name"].get(code, "")
        row = {
            "street_code": code,
            "name": name,
            "year": str(year),
            "goal_year": str(goal_year),
            "baseline_as_of": baseline.isoformat(),
            "as_of": as_of.isoformat(),
        }
        for m in MEASURES:
            column = f"{m}_gap_{goal_year}"
            gap_base = int(base[column].get(code, "0"))
            gap_now = int(now[column].get(code, "0"))
            imported = tasks[f"{m}_task"].get(code) if code in tasks.index else None
            if imported is None or pd.isna(imported):
                task = math.ceil(Fraction(gap_base, years_left))
            else:
                task = int(imported)
            done = gap_base - gap_now
            row[f"{m}_task"] = str(task)
            row[f"{m}_done"] = str(done)
            row[f"{m}_completion"] = Fraction(done, task) if task else None
        rows.append(row)
    return pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS)


def exported(region: dict, year: int, as_of: dt.date | None = None) -> pd.DataFrame:
    out = region["root"] / f"assessment_{year}_{as_of}.csv"
    argv = ["export", "assessment", "--db", str(region["db"]), "--year", str(year)]
    argv += ["--as-of", as_of.isoformat()] if as_of else []
    assert kuomian([*argv, "--out", str(out)]) == 0
    return pd.read_csv(out, dtype=str, keep_default_na=False)


@pytest.mark.parametrize(("year", "as_of"), [(2024, None), (2025, None), (2025, D2)])
def test_the_assessment_export_equals_its_recomputation(region, year, as_of) -> None:
    got = exported(region, year, as_of)
    want = recompute(region, year, as_of)
    assert list(got.columns[: len(ASSESSMENT_COLUMNS)]) == ASSESSMENT_COLUMNS
    assert list(got["street_code"]) == list(want["street_code"])
    for (_, g), (_, w) in zip(got.iterrows(), want.iterrows(), strict=True):
        for col in ASSESSMENT_COLUMNS:
            expected = w[col]
            if col.endswith("_completion"):
                # done ÷ task exactly: the CSV's float is the nearest to the fraction.
                cell = None if g[col] == "" else float(g[col])
                assert cell == (None if pd.isna(expected) else float(expected)), (
                    g.street_code,
                    col,
                )
            else:
                assert g[col] == expected, (g["street_code"], col, g[col], expected)


def test_the_recomputation_covers_the_contracts_edge_cases(region) -> None:
    """The cases above are not vacuous: each edge case of the contract occurs."""
    a24, a25, a25q1 = recompute(region, 2024), recompute(region, 2025), recompute(region, 2025, D2)
    by = {k: f.set_index("street_code") for k, f in (("24", a24), ("25", a25), ("q1", a25q1))}
    s1, s2, s3, s4, s5 = (f"{REGION}00{i}" for i in range(1, 6))
    # 2024: two years to the goal; S1's imported task 6, S3's default ceil(17 / 2) = 9.
    assert by["24"].loc[s1, "coverage_task"] == "6"
    assert by["24"].loc[s3, "coverage_task"] == "9" and by["24"].loc[s3, "baseline_as_of"] == str(
        D0
    )
    # 2025: S4 missing at the as-of date, S5 at the baseline: the union, gap 0.
    assert {s4, s5} <= set(by["25"].index)
    assert by["25"].loc[s4, "coverage_done"] == by["25"].loc[s4, "coverage_task"] == "8"
    # S2 fell back with a coverage task of 0: negative done, empty completion.
    assert by["25"].loc[s2, "coverage_done"] == "-2" and pd.isna(
        by["25"].loc[s2, "coverage_completion"]
    )
    # Imported tasks of the file in force: the CSV at 2025-06-30, the workbook before.
    assert by["25"].loc[s3, "coverage_task"] == "12" and by["q1"].loc[s3, "coverage_task"] == "8"
    assert by["q1"].loc[s2, "structure_task"] == "3"  # the workbook's 12-digit code
    assert by["q1"].loc[s4, "coverage_task"] == "8"  # its invalid S4 rows are not tasks
