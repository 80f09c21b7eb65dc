"""The assessment (考核) and the street ranking of the quarterly 通报
(analytics/quarter), on a small generated region whose answers follow from how it
is generated.

The region (530181) has five streets. Everyone is an adult of the 户籍 in the
street's first community; per street and date there are ``n`` people, of whom the
first ``a`` contribute to the enterprise scheme, the next ``b`` to the residents'
scheme, and the rest are not insured. So legal population = n, insured =
contributors = a + b, employee contributors = a, and with the default goals
(2025: 95 %, 30 %) the street gaps are

    coverage gap  = max(0, ceil(0.95 n − (a + b)))
    structure gap = max(0, ceil(0.30 (a + b) − a))

=========== ============ ============ ============ ============ =================
street      2024-06-30   2024-12-31   2025-03-31   2025-06-30   (n, a, b)
=========== ============ ============ ============ ============ =================
S1 甲街道    20,1,9 →9,2  20,2,10 →7,2 20,3,12 →4,2 20,5,12 →2,1
S2 乙街道    20,5,12 →2,1 20,6,13 →0,0 20,6,13 →0,0 20,6,11 →2,0
S3 =丙街道   20,0,2 →17,1 20,0,4 →15,2 20,0,6 →13,2 20,1,9 →9,2
S4 (no name) 10,0,0 →10,0 10,0,2 →8,1  —            —
S5 戊街道    —            —            —            10,5,5 →0,0
=========== ============ ============ ============ ============ =================

S4 lives only in the 2024 batches and is in no division data (no name); S5 only
in the last batch, whose division data names it. S3's name starts with ``=``
(the export's safe-text rule).

Task files (任务分解): the 2024-12-31 batch has a workbook with one title row
(Excel rows: 1 title, 2 header, 3.. data) with the 2025 tasks of S1 (coverage 10),
S2 (12-digit code, structure 3), S3 (8 and 1), a 2024 task of S1 (coverage 6)
and six problem rows; the 2025-06-30 batch replaces it with a CSV giving S3
coverage 12 and S2 structure 3. The 2025-03-31 batch has none: the 2024-12-31
file is in force there.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from batchgen import REGION, make_batch, make_id, write_xlsx
from tinyregion import copy_database

from analytics import published, store
from analytics.quarter import (
    ASSESSMENT_COLUMNS,
    AssessmentError,
    assessment,
    export_assessment,
    street_ranking,
    task_rows,
)
from analytics.quarter.assessment import open_imports

S1, S2, S3, S4, S5 = (f"{REGION}00{i}" for i in range(1, 6))
NAMES = {S1: "甲街道", S2: "乙街道", S3: "=丙街道", S5: "戊街道"}
D0, D1, D2, D3 = (
    dt.date(2024, 6, 30),
    dt.date(2024, 12, 31),
    dt.date(2025, 3, 31),
    dt.date(2025, 6, 30),
)
# (n, a, b) per date and street, as in the module docstring.
STATE = {
    D0: {S1: (20, 1, 9), S2: (20, 5, 12), S3: (20, 0, 2), S4: (10, 0, 0)},
    D1: {S1: (20, 2, 10), S2: (20, 6, 13), S3: (20, 0, 4), S4: (10, 0, 2)},
    D2: {S1: (20, 3, 12), S2: (20, 6, 13), S3: (20, 0, 6)},
    D3: {S1: (20, 5, 12), S2: (20, 6, 11), S3: (20, 1, 9), S5: (10, 5, 5)},
}
TASK_HEADER = ["街道编码", "街道名称", "年度", "参保扩面任务", "职工参保任务"]
TASK_ROWS_2024_12 = [
    [S1, "甲街道", "2025年", 10, None],  # row 3
    [S2 + "001", "乙街道", 2025, None, 3],  # row 4: a community code counts by its street
    [S3, "丙街道", 2025, 8, 1],  # row 5
    [S1, "甲街道", 2024, 6, None],  # row 6: the 2024 task
    [REGION + "009", "某街道", 2025, None, None],  # row 7: missing_value
    ["530999001", "外县", 2025, 5, 5],  # row 8: out_of_region
    [S4, "丁街道", 2025, 1.5, 1],  # row 9: invalid_value (coverage_task)
    [S4, "丁街道", 2025, 2, "-2"],  # row 10: invalid_value (structure_task)
    [S4, "丁街道", "明年", 1, 1],  # row 11: invalid_value (year)
    ["5301810", "坏码", 2025, 1, 1],  # row 12: invalid_address_code
]
EXPECTED_TASK_PROBLEMS = [
    (7, "missing_value", "coverage_task"),
    (8, "out_of_region", "street_code"),
    (9, "invalid_value", "coverage_task"),
    (10, "invalid_value", "structure_task"),
    (11, "invalid_value", "year"),
    (12, "invalid_address_code", "street_code"),
]


def _person(street: str, i: int) -> str:
    return make_id(50 * int(street[-1]) + i, birth="19800101")


def write_region(root: Path) -> list[Path]:
    folders = []
    for as_of, streets in STATE.items():
        hukou = [["身份证号", "姓名", "户籍地址编码"]]
        pension = [["身份证号", "险种", "参保状态", "参保地"]]
        for street, (n, a, b) in streets.items():
            for i in range(n):
                pid = _person(street, i)
                hukou.append([pid, f"居民{street[-1]}{i}", street + "001"])
                if i < a:
                    pension.append([pid, "企业职工", "参保缴费", REGION])
                elif i < a + b:
                    pension.append([pid, "城乡居民", "参保缴费", REGION])
        division = [["区划代码", "区划名称"], [REGION, "示例市"]]
        division += [[c, NAMES[c]] for c in (S1, S2, S3)]
        if as_of == D3:
            division.append([S5, NAMES[S5]])
        files = {"户籍人口.csv": hukou, "养老保险参保.csv": pension, "行政区划.csv": division}
        if as_of == D3:
            files["任务分解.csv"] = [
                ["街道代码", "考核年度", "扩面任务", "提升结构比任务"],
                [S3, "2025", "12", ""],
                [S2, "2025", "", "3"],
            ]
        folder = make_batch(root, as_of.isoformat(), files, as_of=as_of.isoformat())
        if as_of == D1:
            write_xlsx(
                folder / "任务分解.xlsx",
                [TASK_HEADER, *TASK_ROWS_2024_12],
                title_rows=["2025年各街道扩面任务分解表"],
            )
        folders.append(folder)
    return folders


@pytest.fixture(scope="module")
def region_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The region imported (four dates), never built."""
    from analytics.ingest import import_batches

    root = tmp_path_factory.mktemp("quarter")
    db = root / "db" / "kuomian.duckdb"
    db.parent.mkdir()
    import_batches(write_region(root / "batches"), db=db)
    return db


def _rows(frame: pd.DataFrame) -> dict[str, dict]:
    """Per street, its cells with empty ones as None."""
    out = {}
    for rec in frame.to_dict("records"):
        out[rec["street_code"]] = {
            k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in rec.items()
        }
    return out


def _contract(code, name, year, goal, base, as_of, ct, cd, st, sd) -> dict:
    """A row of the contract's columns; completions done ÷ task, empty for task 0."""
    return {
        "street_code": code,
        "name": name,
        "year": year,
        "goal_year": goal,
        "baseline_as_of": base,
        "as_of": as_of,
        "coverage_task": ct,
        "coverage_done": cd,
        "coverage_completion": cd / ct if ct else None,
        "structure_task": st,
        "structure_done": sd,
        "structure_completion": sd / st if st else None,
    }


def test_assessment_2025_at_the_newest_date_every_column(region_db: Path) -> None:
    # Baseline 2024-12-31 (newest before 2025), as-of 2025-06-30 (newest in 2025),
    # goal year 2025: one year left, so a default task is the whole baseline gap.
    got = _rows(assessment(region_db, 2025))
    assert list(got) == [S1, S2, S3, S4, S5]
    c = {
        # gaps (7,2) -> (2,1); both tasks default (the 2025-06-30 file has no S1 row)
        S1: _contract(S1, "甲街道", 2025, 2025, D1, D3, 7, 5, 2, 1),
        # (0,0) -> (2,0): fell back on coverage; structure task 3 imported
        S2: _contract(S2, "乙街道", 2025, 2025, D1, D3, 0, -2, 3, 0),
        # (15,2) -> (9,2): coverage task 12 imported, structure default 2
        S3: _contract(S3, "=丙街道", 2025, 2025, D1, D3, 12, 6, 2, 0),
        # (8,1) -> no row at the as-of date: gap 0
        S4: _contract(S4, None, 2025, 2025, D1, D3, 8, 8, 1, 1),
        # no row at the baseline: gap 0 -> (0,0)
        S5: _contract(S5, "戊街道", 2025, 2025, D1, D3, 0, 0, 0, 0),
    }
    for code, row in c.items():
        assert {k: got[code][k] for k in ASSESSMENT_COLUMNS} == row, code
    # 2025-06-30 is day 181 of 365; 181 days from the baseline.
    source = {
        S1: ("default", "default"),
        S2: ("default", "imported"),
        S3: ("imported", "default"),
        S4: ("default", "default"),
        S5: ("default", "default"),
    }
    gaps = {
        S1: (7, 2, 2, 1),
        S2: (0, 2, 0, 0),
        S3: (15, 9, 2, 2),
        S4: (8, 0, 1, 0),
        S5: (0, 0, 0, 0),
    }
    pace = {
        S1: ("on_track", "on_track"),  # 5/7 and 1/2 >= 181/365
        S2: ("behind", "behind"),  # fell back on a task of 0; 0 of 3
        S3: ("on_track", "behind"),  # 6/12 = 0.5 >= 0.4959; 0 of 2
        S4: ("on_track", "on_track"),
        S5: ("on_track", "on_track"),
    }
    goal_dates = {
        # gap 2 left at 5 per 181 days: ceil(2 × 181 / 5) = 73 days; 1 at 1 per 181 days
        S1: (dt.date(2025, 9, 11), dt.date(2025, 12, 28)),
        S2: (None, D3),  # not improving; already met
        # 9 left at 6 per 181 days: ceil(271.5) = 272 days; structure not improving
        S3: (dt.date(2026, 3, 29), None),
        S4: (D3, D3),
        S5: (D3, D3),
    }
    for code in c:
        row = got[code]
        assert (row["coverage_task_source"], row["structure_task_source"]) == source[code]
        assert (
            row["coverage_gap_baseline"],
            row["coverage_gap_as_of"],
            row["structure_gap_baseline"],
            row["structure_gap_as_of"],
        ) == gaps[code]
        assert row["year_elapsed"] == 181 / 365
        assert (row["coverage_pace"], row["structure_pace"]) == pace[code], code
        assert (row["coverage_goal_date"], row["structure_goal_date"]) == goal_dates[code], code


def test_tasks_in_force_at_an_earlier_as_of_date(region_db: Path) -> None:
    # At 2025-03-31 the task file in force is the 2024-12-31 workbook; S5 is in
    # neither KPI (not yet there), so it is not listed.
    got = _rows(assessment(region_db, 2025, D2))
    assert list(got) == [S1, S2, S3, S4]
    expected = {
        S1: _contract(S1, "甲街道", 2025, 2025, D1, D2, 10, 3, 2, 0),  # (7,2) -> (4,2)
        S2: _contract(S2, "乙街道", 2025, 2025, D1, D2, 0, 0, 3, 0),  # (0,0) -> (0,0)
        S3: _contract(S3, "=丙街道", 2025, 2025, D1, D2, 8, 2, 1, 0),  # (15,2) -> (13,2)
        S4: _contract(S4, None, 2025, 2025, D1, D2, 8, 8, 1, 1),  # (8,1) -> none
    }
    for code, row in expected.items():
        assert {k: got[code][k] for k in ASSESSMENT_COLUMNS} == row, code
    assert got[S1]["coverage_task_source"] == "imported"
    assert got[S1]["structure_task_source"] == "default"


def test_default_rule_spreads_the_gap_over_the_years_left(region_db: Path) -> None:
    # 2024: no date before it, so the baseline is its earliest date (2024-06-30);
    # as-of 2024-12-31; goal year 2025, two years left: ceil(gap / 2). S1's
    # coverage task 6 is the 2024 row of the workbook in force at 2024-12-31.
    got = _rows(assessment(region_db, 2024))
    expected = {
        S1: _contract(S1, "甲街道", 2024, 2025, D0, D1, 6, 2, 1, 0),  # (9,2)->(7,2); ceil(2/2)
        S2: _contract(S2, "乙街道", 2024, 2025, D0, D1, 1, 2, 1, 1),  # (2,1)->(0,0)
        S3: _contract(S3, "=丙街道", 2024, 2025, D0, D1, 9, 2, 1, -1),  # (17,1)->(15,2)
        S4: _contract(S4, None, 2024, 2025, D0, D1, 5, 2, 0, -1),  # (10,0)->(8,1)
    }
    assert list(got) == list(expected)
    for code, row in expected.items():
        assert {k: got[code][k] for k in ASSESSMENT_COLUMNS} == row, code
    assert got[S1]["coverage_task_source"] == "imported"
    assert got[S4]["structure_pace"] == "behind"  # fell back from a task of 0


def test_task_rows_in_force_and_problem_rows(region_db: Path) -> None:
    def tasks(d: dt.date) -> list[tuple]:
        frame = task_rows(region_db, 2025, d)
        return [
            (
                r.street_code,
                None if pd.isna(r.coverage_task) else int(r.coverage_task),
                None if pd.isna(r.structure_task) else int(r.structure_task),
            )
            for r in frame.itertuples()
        ]

    assert tasks(D2) == [(S1, 10, None), (S2, None, 3), (S3, 8, 1)]
    assert tasks(D3) == [(S2, None, 3), (S3, 12, None)]
    assert tasks(D0) == []
    with store.reading(region_db) as con:
        problems = con.execute(
            "SELECT row_number, reason, field FROM problems WHERE kind = 'task' "
            "AND severity = 'error' ORDER BY row_number"
        ).fetchall()
        counts = con.execute(
            "SELECT source_file, read, accepted, duplicates, problems FROM import_files "
            "WHERE kind = 'task' ORDER BY as_of"
        ).fetchall()
    assert problems == EXPECTED_TASK_PROBLEMS
    assert counts == [("任务分解.xlsx", 10, 4, 0, 6), ("任务分解.csv", 2, 2, 0, 0)]


@pytest.mark.parametrize(
    ("year", "as_of", "says"),
    [
        (2023, None, "no imported date on or before the end of 2023"),
        (2036, None, "after the last goal year 2035"),
        (2026, None, "no imported date in 2026"),
        (2025, D1, "not in 2025"),
        (2024, dt.date(2024, 3, 31), "before the baseline 2024-06-30"),
    ],
)
def test_refused_assessments_say_why_in_one_line(
    region_db: Path, year: int, as_of: dt.date | None, says: str
) -> None:
    with pytest.raises(AssessmentError) as caught:
        assessment(region_db, year, as_of)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_export_writes_the_contract_columns_first_with_safe_text(
    region_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "assessment.csv"
    assert export_assessment(region_db, 2025, out) == 5
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[: len(ASSESSMENT_COLUMNS)] == ASSESSMENT_COLUMNS
    cells = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    assert cells[S3][1] == "'=丙街道"
    assert cells[S1][:12] == [
        S1,
        "甲街道",
        "2025",
        "2025",
        "2024-12-31",
        "2025-06-30",
        "7",
        "5",
        repr(5 / 7),
        "2",
        "1",
        "0.5",
    ]
    assert cells[S2][6:12] == ["0", "-2", "", "3", "0", "0.0"]
    assert cells[S4][1] == ""


def test_never_built_date_gives_the_numbers_of_its_build(
    region_db: Path, tmp_path: Path, dump
) -> None:
    db = copy_database(region_db, tmp_path / "kuomian.duckdb")
    before = dump(db)
    snapshots = sorted((published.root(db) / "snapshots").glob("*.duckdb"))
    current = published.current_number(db)
    unbuilt = assessment(db, 2025)
    unbuilt_q1 = assessment(db, 2025, D2)
    # Nothing written, nothing published.
    assert dump(db) == before
    assert sorted((published.root(db) / "snapshots").glob("*.duckdb")) == snapshots == []
    assert published.current_number(db) == current

    from analytics.exports import export
    from analytics.registry.build import build_registry

    build_registry(db)  # the newest date, and every earlier one as history
    with open_imports(db) as imp:
        assert all(imp._stored_version(d) is not None for d in (D1, D2, D3))
    pd.testing.assert_frame_equal(assessment(db, 2025), unbuilt)
    pd.testing.assert_frame_equal(assessment(db, 2025, D2), unbuilt_q1)
    # The gaps are the kpi export's, at street level.
    kpi = tmp_path / "kpi.csv"
    export("kpi", db, kpi, level="street")
    exported = pd.read_csv(kpi, dtype={"code": str}).set_index("code")
    for row in unbuilt.itertuples():
        if row.street_code in exported.index:
            assert exported.loc[row.street_code, "coverage_gap_2025"] == row.coverage_gap_as_of
            assert exported.loc[row.street_code, "structure_gap_2025"] == row.structure_gap_as_of
        else:
            assert (row.coverage_gap_as_of, row.structure_gap_as_of) == (0, 0)


def test_street_ranking_for_the_quarter(region_db: Path) -> None:
    # Scores: mean of completions capped at 1.5, a task of 0 complete unless the
    # street fell back. 2025-06-30: S1 (5/7 + 1/2)/2, S2 (0 + 0)/2 (fell back on
    # a task of 0), S3 (1/2 + 0)/2, S4 (1 + 1)/2, S5 (1 + 1)/2.
    # Last quarter (2025-03-31): S1 (3/10 + 0)/2, S2 (1 + 0)/2, S3 (2/8 + 0)/2.
    # S4, whom nobody lives in after 2024, is neither ranked nor compared.
    got = street_ranking(region_db, 2025).set_index("street_code")
    assert list(got.index) == [S5, S1, S3, S2]
    assert list(got["rank"]) == [1, 2, 3, 4]
    assert got.loc[S1, "score"] == (5 / 7 + 0.5) / 2
    assert got.loc[S3, "score"] == 0.25
    assert got.loc[S2, "score"] == 0.0
    assert list(got["mention"]) == ["表扬", "表扬", "表扬", "通报"]
    assert set(got["previous_as_of"]) == {D2}
    previous = {S2: 1, S1: 2, S3: 3}
    for code in got.index:
        if code in previous:
            assert got.loc[code, "previous_rank"] == previous[code]
            assert got.loc[code, "rank_change"] == previous[code] - got.loc[code, "rank"]
        else:
            assert pd.isna(got.loc[code, "previous_rank"])
            assert pd.isna(got.loc[code, "rank_change"])


def test_capped_completion_and_first_quarter_compares_with_last_year(region_db: Path) -> None:
    # 2025-03-31's last quarter is 2024 Q4: the 2024 assessment at 2024-12-31,
    # where S2 did 2 of 1 (capped at 1.5) and 1 of 1: (1.5 + 1)/2 = 1.25, first;
    # S1 (2/6 + 0)/2, S3 (2/9 − 1)/2, S4 (0.4 + 0)/2 (a task of 0 fallen back).
    got = street_ranking(region_db, 2025, D2).set_index("street_code")
    assert set(got["previous_as_of"]) == {D1}
    assert S4 not in got.index  # nobody lives in S4 at 2025-03-31
    assert got.loc[S2, "previous_rank"] == 1
    assert got.loc[S1, "previous_rank"] == 3  # S4 was 2nd at 2024-12-31
    assert got.loc[S3, "previous_rank"] == 4
    last_year = street_ranking(region_db, 2024).set_index("street_code")
    assert last_year.loc[S2, "score"] == 1.25
    assert math.isclose(last_year.loc[S3, "score"], (2 / 9 - 1) / 2)
    # No imported date in the quarter before 2024 Q4 (Q3): no comparison.
    assert last_year["previous_rank"].isna().all()
