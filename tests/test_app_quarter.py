"""The leadership group's quarter in the app: the tasks edited in the app
(analytics/quarter/tasks.py) and their precedence in the assessment, and the pages
考核与通报, 目标测算 and 名册 under AppTest, logged in with real accounts as
tests/test_app.py does (its helpers and fixtures are reused)."""

# The fixtures of test_app and test_assessment are imported by name, and the
# tests take them as arguments of the same name:
# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_app import (  # noqa: F401 - fixtures are used by name
    ACCOUNTS,
    ID_LIKE,
    STREET_A,
    STREET_B,
    _navigation_as_served,
    app,
    audit_rows,
    built,
    db,
    downloads,
    fetch,
    goto,
    ok,
    query,
    screen_text,
)
from test_assessment import S1, S2, S3, region_db  # noqa: F401 - region_db is a fixture
from tinyregion import COMMUNITIES, copy_database

from analytics import store
from analytics.access import AccessDenied, Scope
from analytics.quarter import assessment
from analytics.quarter.plan import plan
from analytics.quarter.tasks import TaskError, edit_task, edited_tasks, task_history

ASSESS, PLAN, LISTS = "pages/assessment.py", "pages/plan.py", "pages/lists.py"
QUARTER_PAGES = {
    "leader": {ASSESS, PLAN},
    "cadre": {ASSESS, LISTS},
    "bureau": {ASSESS, PLAN, LISTS},
    "admin": set(),
}
TITLES = {ASSESS: "考核与通报", PLAN: "目标测算", LISTS: "名册"}
Q1, Q2 = dt.date(2025, 3, 31), dt.date(2025, 6, 30)
BUREAU = Scope.bureau("钱人社")


def pct(v: object) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.1%}"


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def assessment_on_screen(at) -> pd.DataFrame:
    return at.dataframe[0].value


def same_numbers(shown: pd.DataFrame, frame: pd.DataFrame) -> None:
    """The 考核 table holds assessment()'s numbers, street by street."""
    assert list(shown["街道编码"]) == list(frame["street_code"])
    assert list(shown["扩面任务"]) == list(frame["coverage_task"])
    assert list(shown["已完成扩面"]) == list(frame["coverage_done"])
    assert list(shown["扩面完成率"]) == [pct(v) for v in frame["coverage_completion"]]
    assert list(shown["提升结构比任务"]) == list(frame["structure_task"])
    assert list(shown["已完成提升"]) == list(frame["structure_done"])
    assert list(shown["提升完成率"]) == [pct(v) for v in frame["structure_completion"]]
    pace = {"on_track": "达到序时进度", "behind": "落后于序时进度"}
    assert list(shown["扩面进度"]) == [pace[p] for p in frame["coverage_pace"]]
    assert list(shown["提升进度"]) == [pace[p] for p in frame["structure_pace"]]


# ---------------------------------------------------------------- tasks and precedence


@pytest.fixture
def tasks_db(region_db: Path, tmp_path: Path) -> Path:
    """A copy of test_assessment's region (imported task files) to edit."""
    return copy_database(region_db, tmp_path / "tasks.duckdb")


def _row(db: Path, code: str, year: int = 2025, as_of: dt.date | None = None) -> pd.Series:
    frame = assessment(db, year, as_of)
    return frame.set_index("street_code").loc[code]


def test_app_edit_overrides_the_task_file_which_overrides_the_default(tasks_db: Path) -> None:
    # At the newest date S2 has an imported structure task (3) and a default
    # coverage task; S3 an imported coverage task (12) and a default structure task.
    before = {c: _row(tasks_db, c) for c in (S1, S2, S3)}
    assert (before[S2]["structure_task"], before[S2]["structure_task_source"]) == (3, "imported")
    assert before[S2]["coverage_task_source"] == "default"
    edit_task(tasks_db, BUREAU, S2, 2025, 5, None)  # coverage set, structure left to the file
    edit_task(tasks_db, BUREAU, S3, 2025, 4, 7)  # both over the file / the default
    s2, s3, s1 = (_row(tasks_db, c) for c in (S2, S3, S1))
    assert (s2["coverage_task"], s2["coverage_task_source"]) == (5, "app")
    assert (s2["structure_task"], s2["structure_task_source"]) == (3, "imported")
    assert (s3["coverage_task"], s3["coverage_task_source"]) == (4, "app")
    assert (s3["structure_task"], s3["structure_task_source"]) == (7, "app")
    assert s3["coverage_completion"] == s3["coverage_done"] / 4
    # A street not edited keeps its task and source.
    for c in ("coverage_task", "coverage_task_source", "structure_task", "structure_task_source"):
        assert s1[c] == before[S1][c]


def test_the_newest_edit_wins_and_empty_goes_back_to_the_file_or_the_default(
    tasks_db: Path,
) -> None:
    default = _row(tasks_db, S2)["coverage_task"]
    edit_task(tasks_db, BUREAU, S2, 2025, 5, 1)
    edit_task(tasks_db, BUREAU, S2, 2025, "", None)  # both back
    s2 = _row(tasks_db, S2)
    assert (s2["coverage_task"], s2["coverage_task_source"]) == (default, "default")
    assert (s2["structure_task"], s2["structure_task_source"]) == (3, "imported")
    newest = edited_tasks(tasks_db, 2025)
    assert list(newest["street_code"]) == [S2] and newest["coverage_task"].isna().all()
    assert len(task_history(tasks_db, 2025)) == 2  # every version kept


def test_an_edit_applies_at_every_date_of_its_year_only(tasks_db: Path) -> None:
    edit_task(tasks_db, BUREAU, S1, 2025, 9, None)
    assert _row(tasks_db, S1, 2025, dt.date(2025, 3, 31))["coverage_task_source"] == "app"
    assert _row(tasks_db, S1, 2024)["coverage_task_source"] != "app"


def test_an_edit_creates_no_as_of_date_and_touches_no_import(tasks_db: Path) -> None:
    def dates() -> list:
        return query(tasks_db, "SELECT DISTINCT as_of FROM import_files ORDER BY as_of")

    before, windows = dates(), assessment(tasks_db, 2025)[["baseline_as_of", "as_of"]]
    edit_task(tasks_db, BUREAU, S1, 2025, 9, 2)
    assert dates() == before
    assert assessment(tasks_db, 2025)[["baseline_as_of", "as_of"]].equals(windows)


def test_tasks_are_append_only(tasks_db: Path) -> None:
    edit_task(tasks_db, BUREAU, S1, 2025, 9, 2)
    con = sqlite3.connect(store.app_db(tasks_db))
    try:
        for sql in ("UPDATE tasks SET coverage_task = 1", "DELETE FROM tasks"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()


def test_an_edit_is_audited_as_import(tasks_db: Path) -> None:
    edit_task(tasks_db, BUREAU, S1 + "001", "2025年", "10", 0)  # a community code counts
    ((user, role, action, what, rows, detail),) = audit_rows(tasks_db, "import")
    assert (user, role, action, what, rows) == (
        "钱人社",
        "bureau",
        "import",
        f"任务分解 {S1} 2025",
        1,
    )
    assert "扩面任务=10" in detail and "结构比任务=0" in detail


@pytest.mark.parametrize("value", [-1, "-1", 1.5, "1.5", "十", True])
def test_a_task_that_is_not_a_whole_number_is_refused(tasks_db: Path, value: object) -> None:
    with pytest.raises(TaskError):
        edit_task(tasks_db, BUREAU, S1, 2025, value, None)
    assert task_history(tasks_db).empty and not audit_rows(tasks_db, "import")


@pytest.mark.parametrize("role", ["leader", "cadre", "admin"])
def test_only_the_bureau_edits_tasks(tasks_db: Path, role: str) -> None:
    scope = Scope(role, (S1,) if role == "cadre" else None, "某人")
    with pytest.raises(AccessDenied):
        edit_task(tasks_db, scope, S1, 2025, 1, 1)
    assert task_history(tasks_db).empty and not audit_rows(tasks_db)


# ---------------------------------------------------------------- pages per role


@pytest.mark.parametrize("role", list(QUARTER_PAGES))
def test_each_role_sees_the_right_quarter_pages(db: Path, role: str) -> None:
    at = app(role)
    for page, title in TITLES.items():
        if page in QUARTER_PAGES[role]:
            assert titles(goto(at, page))[0] == title, page
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(page)


def test_the_quarter_pages_show_a_leader_no_names(db: Path) -> None:
    everyone = query(db, "SELECT DISTINCT id_number, name FROM reg_persons")
    at = app("leader")
    for page in (ASSESS, PLAN):
        text = screen_text(goto(at, page))
        assert not ID_LIKE.search(text), page
        assert not any(name in text for _, name in everyone), page


# ---------------------------------------------------------------- 考核与通报


def test_assessment_table_equals_the_assessment_at_the_newest_date(db: Path) -> None:
    at = goto(app("leader"), ASSESS)
    same_numbers(assessment_on_screen(at), assessment(db, 2025, Q2))
    ranking = at.dataframe[1].value
    assert set(ranking["通报"]) <= {"表扬", "通报", "—"} and list(ranking["排名"]) == [1, 2]
    assert set(ranking["上季度排名"]) <= {"1", "2"}  # compared with 2025-03-31


def test_assessment_follows_the_chosen_date(db: Path) -> None:
    at = goto(app("bureau"), ASSESS)
    at.selectbox(key="assessment_as_of").set_value(Q1).run()
    same_numbers(assessment_on_screen(ok(at)), assessment(db, 2025, Q1))
    assert "2025年3月31日" in at.caption[0].value


def test_bureau_edit_changes_the_task_shown_and_the_assessment(db: Path) -> None:
    at = goto(app("bureau"), ASSESS)
    at.selectbox(key="assessment_task_street").set_value(STREET_A).run()
    at.text_input(key=f"task_coverage_{STREET_A}_2025").input("7")
    at.text_input(key=f"task_structure_{STREET_A}_2025").input("")
    at.button(key=f"FormSubmitter:task_form_{STREET_A}_2025-保存任务").click().run()
    ok(at)
    assert any("已保存" in s.value for s in at.success)
    shown = assessment_on_screen(at).set_index("街道编码")
    assert shown.loc[STREET_A, "扩面任务"] == 7 and shown.loc[STREET_A, "任务来源"] == "本系统调整"
    frame = assessment(db, 2025, Q2)
    assert (frame.set_index("street_code").loc[STREET_A, "coverage_task"]) == 7
    same_numbers(shown.reset_index(), frame)
    ((user, role, _, what, rows, _),) = audit_rows(db, "import")
    assert (user, role, what, rows) == ("钱人社", "bureau", f"任务分解 {STREET_A} 2025", 1)


def test_a_bad_task_is_refused_on_screen(db: Path) -> None:
    at = goto(app("bureau"), ASSESS)
    street = at.selectbox(key="assessment_task_street").value
    at.text_input(key=f"task_coverage_{street}_2025").input("-3")
    at.button(key=f"FormSubmitter:task_form_{street}_2025-保存任务").click().run()
    assert "负数" in ok(at).error[0].value
    assert edited_tasks(db, 2025).empty


@pytest.mark.parametrize("role", ["leader", "cadre"])
def test_only_the_bureau_gets_the_task_editor(db: Path, role: str) -> None:
    at = goto(app(role), ASSESS)
    assert not at.text_input and not at.get("form")
    assert "调整任务分解" not in [s.value for s in at.subheader]
    with pytest.raises(AccessDenied):
        edit_task(db, Scope.leader(ACCOUNTS["leader"][0]), STREET_A, 2025, 1, 1)
    assert edited_tasks(db, 2025).empty


def test_the_assessment_workbook_holds_the_numbers_and_is_logged(db: Path, downloads: dict) -> None:
    at = goto(app("leader"), ASSESS)
    assert not audit_rows(db, "export")  # showing the page is not an export
    book = openpyxl.load_workbook(io.BytesIO(fetch(at, downloads, "assessment_download")))
    sheet = book["考核"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in sheet.iter_rows(min_row=2)]
    frame = assessment(db, 2025, Q2)
    assert [r["街道编码"] for r in rows] == list(frame["street_code"])
    assert [r["扩面任务"] for r in rows] == list(frame["coverage_task"])
    assert [r["扩面完成率"] for r in rows] == pytest.approx(
        [None if pd.isna(v) else v for v in frame["coverage_completion"]]
    )
    ((user, role, _, what, n, _),) = audit_rows(db, "export")
    assert (user, role, n) == ("赵领导", "leader", len(frame)) and "考核 2025年" in what


# ---------------------------------------------------------------- 目标测算


def plan_on_screen(at) -> pd.DataFrame:
    return at.dataframe[0].value


def same_plan(shown: pd.DataFrame, frame: pd.DataFrame) -> None:
    def whole(v: object) -> str:
        return "—" if pd.isna(v) else f"{int(v):,}"

    assert list(shown["年份"]) == list(frame["year"])
    for label, column in (
        ("应参保人口", "legal_population"),
        ("已参保", "insured"),
        ("缴费人员", "contributors"),
        ("职工养老缴费", "employee_contributors"),
        ("当年新增参保", "enroll"),
        ("当年提升", "upgrade"),
    ):
        assert list(shown[label]) == [whole(v) for v in frame[column]], label
    for label, column in (("参保率", "coverage_rate"), ("结构比", "structure_ratio")):
        assert list(shown[label]) == [
            "—" if pd.isna(v) else f"{float(v):.2%}" for v in frame[column]
        ], label


def test_plan_table_equals_plan(db: Path) -> None:
    at = goto(app("leader"), PLAN)
    same_plan(plan_on_screen(at), plan(db, 0, 0))
    at.number_input(key="plan_enroll").set_value(3).run()
    at.number_input(key="plan_upgrade").set_value(2).run()
    same_plan(plan_on_screen(ok(at)), plan(db, 3, 2))
    assert at.get("plotly_chart")
    assert any("每年需要" in m.value for m in at.markdown)


# ---------------------------------------------------------------- 名册


def _workbook_ids(data: bytes) -> tuple[list[str], set[str]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    ids = set()
    for ws in book.worksheets:
        header = [c.value for c in ws[3]]
        at = header.index("身份证号")
        ids |= {r[at] for r in ws.iter_rows(min_row=4, values_only=True) if r[at]}
    return book.sheetnames, ids


def test_cadre_roster_holds_only_their_communities_and_is_logged(db: Path, downloads: dict) -> None:
    at = goto(app("cadre"), LISTS)  # 王专干: street A
    assert not audit_rows(db, "export")
    sheets, ids = _workbook_ids(fetch(at, downloads, "lists_collection"))
    street_a = {n for c, n in COMMUNITIES.items() if c.startswith(STREET_A)}
    assert set(sheets) == street_a
    where = dict(query(db, "SELECT DISTINCT id_number, community_code FROM reg_persons"))
    assert ids and all(where[i].startswith(STREET_A) for i in ids)
    ((user, role, _, what, n, detail),) = audit_rows(db, "export")
    assert (user, role, n) == ("王专干", "cadre", len(ids))
    assert what.startswith("征收清册") and "格式=xlsx" in what and STREET_A in detail


def test_cadre_subsidised_list_and_duplicates_are_logged(db: Path, downloads: dict) -> None:
    at = goto(app("cadre_b"), LISTS)  # 李专干: street B
    sheets, ids = _workbook_ids(fetch(at, downloads, "lists_subsidised"))
    assert set(sheets) == {n for c, n in COMMUNITIES.items() if c.startswith(STREET_B)}
    where = dict(query(db, "SELECT DISTINCT id_number, community_code FROM reg_persons"))
    assert all(where[i].startswith(STREET_B) for i in ids)
    data = fetch(at, downloads, "lists_duplicates")
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header == "id_number,name,street_code,community_code,enrollments,detail"
    whats = [r[3] for r in audit_rows(db, "export")]
    assert whats[0].startswith("代缴名单") and whats[1].startswith("重复参保")


def test_bureau_narrows_a_roster_to_one_community(db: Path, downloads: dict) -> None:
    at = goto(app("bureau"), LISTS)
    community = next(c for c in COMMUNITIES if c.startswith(STREET_B))
    at.selectbox(key="lists_community").set_value(community).run()
    sheets, _ = _workbook_ids(fetch(ok(at), downloads, "lists_collection"))
    assert sheets == [COMMUNITIES[community]]
    assert COMMUNITIES[community] in audit_rows(db, "export")[0][3]
