"""Exports are safe to open in Excel and WPS: a text cell that would start a
formula (=, +, -, @, a tab or a carriage return, or their full-width forms) is
written with one leading ' (data contract, "Command line"); numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
from batchgen import REGION, make_batch, make_id

from analytics.cli import main as kuomian
from analytics.exports import safe_csv_bytes, safe_frame, safe_text_sql
from analytics.visit_sheet import visit_sheet

STREET, COMMUNITY = REGION + "001", REGION + "001001"
PAYLOADS = ['=HYPERLINK("http://x","点我")', "@SUM(1)", "+1", "-2+3", "\t=1+1", "＝1+1"]
# As the importer keeps them: trimmed of the tab, full-width folded (contract) —
# which is what turns the last two into live formulas if nothing guards them.
STORED = ['=HYPERLINK("http://x","点我")', "@SUM(1)", "+1", "-2+3", "=1+1", "=1+1"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    root = tmp_path_factory.mktemp("safe")
    hukou = [["身份证号", "姓名", "户籍地址编码"]]
    hukou += [[make_id(i + 1), name, COMMUNITY] for i, name in enumerate(PAYLOADS)]
    hukou.append(["=1+2", "坏号", COMMUNITY])  # invalid_id: the raw ID lands in problems
    division = [
        ["区划代码", "区划名称"],
        [REGION, "示例市"],
        [STREET, "甲街道"],
        [COMMUNITY, "=HYPERLINK(1)"],
    ]
    batch = make_batch(root, "2025-06-30", {"户籍人口.csv": hukou, "行政区划.csv": division})
    db = root / "k.duckdb"
    assert kuomian(["import", str(batch), "--db", str(db)]) == 0
    assert kuomian(["build", "--db", str(db)]) == 0
    out = {}
    for what, extra in (("targets", []), ("problems", []), ("kpi", ["--level", "community"])):
        path = root / f"{what}.csv"
        assert kuomian(["export", what, *extra, "--db", str(db), "--out", str(path)]) == 0
        with path.open(encoding="utf-8", newline="") as f:
            out[what] = list(csv.DictReader(f))
    return out


def test_formula_like_names_are_written_as_text(exported: dict) -> None:
    names = sorted(r["name"] for r in exported["targets"])
    assert names == sorted(f"'{p}" for p in STORED)


def test_stripping_the_one_quote_gives_the_value_back(exported: dict) -> None:
    assert sorted(r["name"][1:] for r in exported["targets"]) == sorted(STORED)


def test_problem_rows_and_area_names_are_neutralised_too(exported: dict) -> None:
    bad = [r for r in exported["problems"] if r["reason"] == "invalid_id"]
    assert [r["id_number"] for r in bad] == ["'=1+2"]
    community = next(r for r in exported["kpi"] if r["code"] == COMMUNITY)
    assert community["name"] == "'=HYPERLINK(1)"


def test_numbers_and_plain_text_stay_as_they_are(exported: dict) -> None:
    community = next(r for r in exported["kpi"] if r["code"] == COMMUNITY)
    assert community["legal_population"] == str(len(PAYLOADS))
    assert all(float(r["score"]) >= 0 and r["rank"].isdigit() for r in exported["targets"])
    assert all(not r["id_number"].startswith("'") for r in exported["targets"])


def test_the_visit_sheet_writes_formula_like_text_as_strings(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {
            "grid_rank": [1],
            "name": ["=HYPERLINK(1)"],
            "id_number": [make_id(1)],
            "community_name": ["@SUM(1)"],
            "score": [0.5],
        }
    )
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(visit_sheet(rows, "=1+1", dt.date(2025, 6, 30)))
    ws = openpyxl.load_workbook(path).active
    values = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "=HYPERLINK(1)" in values and "@SUM(1)" in values
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert ws["A1"].value == "=1+1 养老保险扩面走访清单" and ws["A1"].data_type == "s"


CELLS = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1)",
    "+1",
    "-1+2",
    "\t=1",
    "\r=1",
    "＝1+1",
    "＋1",
    "－1",
    "＠A1",
    "-12.5",
    "3",
    "张三",
    "a=b",
    "",
]


def test_app_downloads_follow_the_export_rule_cell_for_cell() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR, n INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[p, i] for i, p in enumerate(CELLS)])
    by_sql = [
        r[0] for r in con.execute(safe_text_sql(con, "SELECT v FROM t ORDER BY n")).fetchall()
    ]
    frame = pd.DataFrame({"v": CELLS, "n": range(len(CELLS))})
    safe = safe_frame(frame)
    assert list(safe["v"]) == by_sql
    assert list(safe["n"]) == list(range(len(CELLS)))  # numbers stay numbers
    assert sum(v.startswith("'") for v in by_sql) == 10  # every formula-like payload
    data = safe_csv_bytes(frame)
    assert data.startswith("\ufeff".encode()) and "'＝1+1" in data.decode("utf-8-sig")
