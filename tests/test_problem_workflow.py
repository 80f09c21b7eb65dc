"""Problem data as a workflow: a department's send-back sheet holds its rows only,
with the reason in Chinese and what to correct; a problem is open when found,
sent once its department's sheet is downloaded (audited as an export), and
fixed when a later batch of that kind no longer has it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from batchgen import REGION, make_batch, make_id

from analytics import audit, problem_workflow
from analytics.access import Scope
from analytics.ingest import import_batches

COMMUNITY = REGION + "001001"
GOOD = [make_id(i) for i in range(1, 5)]
BAD_ID = "53018119800101123"  # 17 digits: invalid_id
BUREAU = Scope.bureau("钱人社")


def _batch(root: Path, as_of: str, hukou_bad: bool, dibao_bad: bool) -> Path:
    hukou = [["身份证号", "姓名", "户籍地址编码"]] + [
        [pid, f"测试{i}", COMMUNITY] for i, pid in enumerate(GOOD)
    ]
    if hukou_bad:
        hukou.append([BAD_ID, "=坏号", COMMUNITY])
    dibao = [["身份证号", "姓名"], [GOOD[0], "测试0"]]
    if dibao_bad:
        dibao.append(["12345", "低保坏号"])
    files = {"户籍人口.csv": hukou, "低保.csv": dibao}
    return make_batch(root, as_of, files, as_of=as_of)


def _status(db: Path, kind: str) -> dict[tuple[str, str], str]:
    df = problem_workflow.statuses(db, BUREAU)
    df = df[df["kind"] == kind]
    return dict(zip(zip(df["id_key"], df["reason"]), df["status"]))


@pytest.fixture
def first(db: Path, batches: Path) -> Path:
    import_batches([_batch(batches, "2025-03-31", hukou_bad=True, dibao_bad=True)], db=db)
    return db


def test_a_problem_goes_open_sent_fixed_across_two_batches(first: Path, batches: Path) -> None:
    db = first
    assert _status(db, "hukou") == {(BAD_ID, "invalid_id"): "open"}
    rows = problem_workflow.mark_sent(db, BUREAU, "hukou", now=dt.datetime(2025, 4, 2, 9))
    assert rows == 1
    assert _status(db, "hukou") == {(BAD_ID, "invalid_id"): "sent"}
    # Sending the 户籍 sheet leaves the 低保 problem open.
    assert set(_status(db, "dibao").values()) == {"open"}
    # The next quarter's 户籍 file has the row corrected; 低保 still has its own.
    import_batches([_batch(batches, "2025-06-30", hukou_bad=False, dibao_bad=True)], db=db)
    assert _status(db, "hukou") == {(BAD_ID, "invalid_id"): "fixed"}
    assert set(_status(db, "dibao").values()) == {"open"}
    df = problem_workflow.statuses(db, BUREAU)
    fixed = df[df["kind"] == "hukou"].iloc[0]
    assert (fixed["sent_by"], fixed["fixed_as_of"]) == ("钱人社", "2025-06-30")


def test_a_fixed_problem_that_comes_back_is_open_again(first: Path, batches: Path) -> None:
    import_batches([_batch(batches, "2025-06-30", hukou_bad=False, dibao_bad=False)], db=first)
    assert _status(first, "hukou") == {(BAD_ID, "invalid_id"): "fixed"}
    import_batches([_batch(batches, "2025-09-30", hukou_bad=True, dibao_bad=False)], db=first)
    assert _status(first, "hukou") == {(BAD_ID, "invalid_id"): "open"}


def test_the_same_date_imported_again_corrected_fixes_it(first: Path, batches: Path) -> None:
    again = _batch(batches / "again", "2025-03-31", hukou_bad=False, dibao_bad=True)
    problem_workflow.refresh(first)  # the first import is taken in before the second
    import_batches([again], db=first)
    assert _status(first, "hukou") == {(BAD_ID, "invalid_id"): "fixed"}


def test_the_send_back_sheet_holds_only_its_departments_rows_in_chinese(first: Path) -> None:
    data = problem_workflow.send_back_sheet(first, BUREAU, "hukou")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0].startswith("户籍人口问题数据退回清单")
    header, body = values[2], values[3:]
    assert header[:7] == ["数据日期", "文件", "行号", "类别", "原因", "如何更正", "字段"]
    assert len(body) == 1
    row = dict(zip(header, body[0]))
    assert row["文件"] == "户籍人口.csv" and row["行号"] == "6"
    assert row["原因"] == "身份证号错误"
    assert row["如何更正"] == problem_workflow.FIX_HINTS["invalid_id"]
    # The original cells under the department's own headers, the ID as text, and a
    # formula-like cell shown as text (one leading ').
    assert row["身份证号"] == BAD_ID and row["姓名"] == "'=坏号"
    assert all(c.data_type == "s" for r in ws.iter_rows(min_row=4) for c in r if c.value)
    assert "低保坏号" not in str(values) and "12345" not in str(values)


def test_every_reason_code_has_a_correction_hint() -> None:
    from analytics.sources import load_sources

    assert set(load_sources().labels["reason"]) <= set(problem_workflow.FIX_HINTS)


def test_downloading_a_sheet_is_an_export_row_of_the_audit_log(first: Path) -> None:
    problem_workflow.mark_sent(first, BUREAU, "dibao")
    log = audit.read(first, action="export")
    assert list(log[["user", "what"]].itertuples(index=False, name=None)) == [
        ("钱人社", "问题数据退回 dibao 2025-03-31")
    ]
    assert int(log["rows"].iloc[0]) == 1


def test_counts_per_department_over_time(first: Path, batches: Path) -> None:
    import_batches([_batch(batches, "2025-06-30", hukou_bad=False, dibao_bad=True)], db=first)
    counts = problem_workflow.counts_over_time(first, BUREAU)
    hukou = counts[counts["kind"] == "hukou"].set_index("as_of")
    assert hukou.loc[dt.date(2025, 3, 31), ["found", "new", "fixed"]].tolist() == [1, 1, 0]
    assert hukou.loc[dt.date(2025, 6, 30), ["found", "new", "fixed"]].tolist() == [0, 0, 1]
    totals = problem_workflow.status_counts(first, BUREAU).set_index("kind")
    assert totals.loc["hukou", ["open", "sent", "fixed"]].tolist() == [0, 0, 1]
    assert totals.loc["dibao", ["open", "sent", "fixed"]].tolist() == [1, 0, 0]


def test_the_status_list_is_open_first_and_its_first_rows_are_its_head(
    first: Path, batches: Path
) -> None:
    import_batches([_batch(batches, "2025-06-30", hukou_bad=False, dibao_bad=True)], db=first)
    problem_workflow.mark_sent(first, BUREAU, "dibao")
    whole = problem_workflow.status_list(first, BUREAU)
    statuses = problem_workflow.statuses(first, BUREAU)
    order = list(problem_workflow.STATUSES)
    expected = statuses.sort_values(
        ["status", "kind", "reason", "id_key"],
        key=lambda c: c.map(order.index) if c.name == "status" else c,
    )
    assert list(whole["status_label"]) == [problem_workflow.STATUSES[s] for s in expected["status"]]
    assert len(whole) == len(statuses) >= 2 and whole["status_label"].iloc[-1] == "已更正"
    head = problem_workflow.status_list(first, BUREAU, limit=1)
    assert head.fillna("").to_dict("records") == whole.head(1).fillna("").to_dict("records")


def test_only_the_bureau_works_the_problems(first: Path) -> None:
    from analytics.access import AccessDenied

    with pytest.raises(AccessDenied):
        problem_workflow.statuses(first, Scope.leader("赵领导"))


# ---------------------------------------------------------------- the page

app_test = pytest.importorskip("test_app")
_navigation_as_served = app_test._navigation_as_served  # autouse: app.py runs every time


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_hashes: None) -> Path:
    from tinyregion import build_tiny_db

    db = build_tiny_db(tmp_path)
    app_test.add_accounts(db)
    monkeypatch.setenv("KUOMIAN_DB", str(db))
    return db


def test_the_page_sends_a_departments_sheet_back_and_logs_it(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: dict = {}
    from streamlit.runtime.media_file_manager import MediaFileManager

    register = MediaFileManager.add_deferred

    def spy(self, data_callable, *args, **kwargs):
        file_id = register(self, data_callable, *args, **kwargs)
        made[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    at = app_test.goto(app_test.app("bureau"), "pages/data_import.py")
    counts = next(d.value for d in at.dataframe if "待处理" in d.value.columns)
    assert counts.set_index("部门数据").loc["户籍人口", "待处理"] == 1
    assert at.selectbox(key="send_back_kind").value == "hukou"
    data = app_test.fetch(at, made, "send_back_download")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws.cell(4, 5).value == "身份证号错误"
    ((user, _, _, what, n, _),) = app_test.audit_rows(app_db, "export")
    assert (user, what, n) == ("钱人社", "问题数据退回 hukou 2025-06-30", 1)
    at.run()
    counts = next(d.value for d in at.dataframe if "待处理" in d.value.columns)
    assert counts.set_index("部门数据").loc["户籍人口", "已退回部门"] == 1


def test_a_row_without_an_id_is_followed_by_its_cells(db: Path, batches: Path) -> None:
    header = ["身份证号", "姓名", "户籍地址编码"]
    rows = [header, [GOOD[0], "测试0", COMMUNITY], ["", "无号", COMMUNITY]]
    import_batches([make_batch(batches, "2025-03-31", {"户籍人口.csv": rows})], db=db)
    ((key, reason),) = _status(db, "hukou")
    assert key.startswith("row:") and reason == "missing_value"
    import_batches([make_batch(batches, "2025-06-30", {"户籍人口.csv": rows[:2]})], db=db)
    assert _status(db, "hukou") == {(key, "missing_value"): "fixed"}


def _survey(root: Path, as_of: str, rows: list[list[str]], name: str = "") -> Path:
    header = ["身份证号", "调查日期", "调查结果"]
    return make_batch(
        root / name if name else root, as_of, {"入户调查.csv": [header, *rows]}, as_of=as_of
    )


def test_an_event_kinds_problem_is_fixed_only_by_its_own_date_sent_again(
    db: Path, batches: Path
) -> None:
    bad = [GOOD[1], "2025-03-01", "不知道"]  # invalid_value: not a survey result
    import_batches([_survey(batches, "2025-03-31", [bad])], db=db)
    # The next quarter's survey file holds new visits: the March row is still wrong.
    import_batches([_survey(batches, "2025-06-30", [[GOOD[2], "2025-05-01", "拒绝"]])], db=db)
    assert _status(db, "survey") == {(GOOD[1], "invalid_value"): "open"}
    rows = problem_workflow.send_back_rows(db, BUREAU, "survey")
    assert list(rows["as_of"]) == [dt.date(2025, 3, 31)]
    # March's file sent again, corrected.
    fixed = [GOOD[1], "2025-03-01", "考虑中"]
    import_batches([_survey(batches, "2025-03-31", [fixed], name="again")], db=db)
    assert _status(db, "survey") == {(GOOD[1], "invalid_value"): "fixed"}
