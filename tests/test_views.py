"""Read functions of the dashboard: scope enforcement, masking, KPIs equal to the
exports, field visits, the export audit and the printable visit sheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import sys
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pandas.testing as pd_testing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tinyregion import COMMUNITIES, STREETS, build_tiny_db, copy_database, person_id

from analytics import reads, store, workflow, writes
from analytics.access import (
    AccessDenied,
    Scope,
    mask_id,
    mask_id_sql,
    mask_phone,
    mask_phone_sql,
)
from analytics.exports import export
from analytics.ingest import ImportRejected
from analytics.registry.build import build_registry
from analytics.visit_sheet import visit_sheet
from geo import maps

STREET_A, STREET_B = list(STREETS)
COMMUNITY_A1 = next(iter(COMMUNITIES))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_db(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    """A private copy for tests that write."""
    copy = tmp_path / "copy.duckdb"
    copy_database(built, copy)
    return copy


def current(db: Path) -> int:
    return reads.status(db).current_version


# ---------------------------------------------------------------- masking


def test_mask_id_keeps_first_and_last_four() -> None:
    assert mask_id("530181198001010011") == "5301**********0011"
    assert mask_id(None) == "" and mask_id(float("nan")) == ""


def test_mask_phone_keeps_first_three_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == "" and mask_phone(None) == ""


# Digits, X, spaces Python strips and the contract's trim leaves (em space),
# a zero-width space neither strips, a CJK character and an accented letter.
_CELL = st.text(alphabet="0123456789Xx -\t\n\u3000\u2003\u00a0\u200b中é", max_size=24)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.one_of(st.none(), _CELL), min_size=1, max_size=20))
def test_the_queries_mask_as_the_screen_does(values: list[str | None]) -> None:
    """The SQL masks (a million rows in one query) give mask_id/mask_phone's text."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    got = con.execute(
        f"SELECT {mask_id_sql('v')}, {mask_id_sql('v', 6)}, {mask_phone_sql('v')} FROM t ORDER BY i"
    ).fetchall()
    assert got == [(mask_id(v), mask_id(v, head=6), mask_phone(v)) for v in values]


def test_the_phone_mask_trims_every_character_python_strips() -> None:
    from analytics.access import _SPACES

    assert _SPACES == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def test_an_arrow_read_gives_the_frame_a_plain_read_gives(built: Path) -> None:
    """store.arrow_frame is store.frame, column types included: with NULLs and without."""
    sql = """
        SELECT * FROM (VALUES
            (1, 1::INT, true, true, DATE '2024-01-02', 1.5, 'a', 1::BIGINT, 7::UTINYINT),
            (2, NULL::INT, NULL::BOOLEAN, false, NULL::DATE, NULL::DOUBLE, NULL, NULL, 8))
            t(i, ni, nb, b, d, f, s, nbig, u)"""
    lists = """
        SELECT * FROM (VALUES (1, [1, 2]::INT[], ['a']), (2, NULL, NULL), (3, [], []))
            t(i, l, s)"""
    con = duckdb.connect()
    for query in (sql, sql + " WHERE i = 1", sql + " WHERE false", lists):
        pd_testing.assert_frame_equal(store.arrow_frame(con, query), store.frame(con, query))
    listed = store.arrow_frame(con, lists)
    assert listed["l"].iloc[1] is pd.NA and list(listed["l"].iloc[0]) == [1, 2]
    with store.reading(built) as con:
        query = """
            SELECT id_number, rank, score, primary_group, last_survey_date, visits,
                   claim_to_verify, phone, reasons
            FROM reg_targets_ranked WHERE version = $v"""
        v = {"v": current(built)}
        pd_testing.assert_frame_equal(store.arrow_frame(con, query, v), store.frame(con, query, v))


def test_targets_carry_masked_columns(built: Path) -> None:
    rows = reads.targets(built, current(built), Scope.bureau())
    assert (rows["id_masked"] == rows["id_number"].map(mask_id)).all()
    assert all(len(m) == 18 and m[4:14] == "*" * 10 for m in rows["id_masked"])
    called = rows[rows["phone"].notna()]
    assert list(called["phone_masked"]) == ["138****5678"]


# ---------------------------------------------------------------- scopes


@pytest.mark.parametrize("grid", [[COMMUNITY_A1], [STREET_B]])
def test_cadre_scope_never_returns_people_outside_the_grid(built: Path, grid: list[str]) -> None:
    scope = Scope.cadre(grid)
    v = current(built)
    rows = reads.targets(built, v, scope)
    assert len(rows) > 0
    assert all(c.startswith(grid[0]) for c in rows["community_code"])
    # Filters cannot widen the scope.
    other = STREET_A if grid[0].startswith(STREET_B) else STREET_B
    assert reads.targets(built, v, scope, street=other).empty
    found = reads.search_persons(built, v, scope, "测试")
    assert len(found) > 0 and all(c.startswith(grid[0]) for c in found["community_code"])


def test_cadre_cannot_open_the_card_of_someone_outside_the_grid(built: Path) -> None:
    v = current(built)
    outsider = person_id(2)  # community index 2: street B
    assert reads.person_card(built, v, Scope.bureau(), outsider) is not None
    assert reads.person_card(built, v, Scope.cadre([STREET_A]), outsider) is None


def test_leader_scope_never_gets_names_or_ids(built: Path) -> None:
    v = current(built)
    leader = Scope.leader()
    for call in (
        lambda: reads.targets(built, v, leader),
        lambda: reads.search_persons(built, v, leader, "测试"),
        lambda: reads.person_card(built, v, leader, person_id(0)),
    ):
        with pytest.raises(AccessDenied):
            call()
    for level in ("city", "street", "community"):
        frame = reads.kpi(built, v, level)
        assert not {"id_number", "name_of_person", "phone"} & set(frame.columns)


def test_a_cadre_scope_needs_a_grid() -> None:
    with pytest.raises(ValueError):
        Scope("cadre", None)
    with pytest.raises(ValueError):
        Scope.cadre(["5301"])


def test_only_the_bureau_reads_problem_data(built: Path) -> None:
    with pytest.raises(AccessDenied):
        reads.problems(built, Scope.cadre([STREET_A]))
    probs = reads.problems(built, Scope.bureau())
    assert list(probs.loc[probs["severity"] == "error", "reason"]) == ["invalid_id"]


# ---------------------------------------------------------------- numbers equal the exports


def _export(db: Path, tmp_path: Path, what: str, level: str = "city") -> list[dict]:
    out = tmp_path / f"{what}-{level}.csv"
    export(what, db, out, level=level)
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))


def test_kpi_equals_the_kpi_export(built: Path, tmp_path: Path) -> None:
    for level in ("city", "street", "community"):
        exported = {r["code"]: r for r in _export(built, tmp_path, "kpi", level)}
        frame = reads.kpi(built, current(built), level)
        assert set(frame["code"]) == set(exported)
        for r in frame.itertuples():
            e = exported[r.code]
            assert float(e["coverage_rate"]) == pytest.approx(r.coverage_rate, abs=1e-12)
            assert int(e["coverage_gap_2025"]) == r.coverage_gap_2025
            assert int(e["legal_population"]) == r.legal_population


def test_targets_equal_the_targets_export(built: Path, tmp_path: Path) -> None:
    exported = _export(built, tmp_path, "targets")
    frame = reads.targets(built, current(built), Scope.bureau())
    assert list(frame["id_number"]) == [r["id_number"] for r in exported]
    assert list(frame["rank"]) == [int(r["rank"]) for r in exported]


def test_trend_has_one_city_row_per_snapshot(built: Path) -> None:
    trend = reads.kpi_trend(built, "city")
    assert [d.date() for d in trend["as_of"]] == [dt.date(2025, 3, 31), dt.date(2025, 6, 30)]
    assert trend["coverage_rate"].iloc[0] < trend["coverage_rate"].iloc[1]


# ---------------------------------------------------------------- writes


def test_record_visit_shows_in_the_registry_at_once(db: Path) -> None:
    target = reads.targets(db, current(db), Scope.bureau()).iloc[-1]
    who = target["id_number"]
    scope = Scope.cadre([target["community_code"]], user="李专干")
    writes.record_visit(
        db,
        scope,
        who,
        dt.date(2025, 7, 2),
        "同意参保",
        willingness="愿意",
        ability_to_pay="一般",
        phone="13900001111",
        surveyor="李专干",
        today=dt.date(2025, 7, 3),
    )
    card = reads.person_card(db, current(db), scope, who)
    assert card["person"]["survey_result"] == "同意参保"
    assert card["visits"].iloc[0]["source_file"] == store.FIELD_BATCH
    row = reads.targets(db, current(db), scope).set_index("id_number").loc[who]
    assert row["survey_result"] == "同意参保" and row["phone_masked"] == "139****1111"


def test_a_recorded_visit_is_survey_data_of_the_next_build(db: Path, tmp_path: Path) -> None:
    target = reads.targets(db, current(db), Scope.bureau()).iloc[-1]
    who = target["id_number"]
    before = int(target["visits"] or 0)
    writes.record_visit(
        db, Scope.bureau(), who, dt.date(2025, 7, 2), "拒绝", today=dt.date(2025, 7, 3)
    )
    build_registry(db)
    out = tmp_path / "targets.csv"
    export("targets", db, out)
    with out.open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["id_number"] == who)
    assert row["survey_result"] == "拒绝" and row["last_survey_date"] == "2025-07-02"
    card = reads.person_card(db, current(db), Scope.bureau(), who)
    assert card["person"]["visits"] == before + 1
    assert list(card["visits"]["source_file"]).count(store.FIELD_BATCH) == 1


def test_the_audit_log_refuses_changes(db: Path) -> None:
    writes.log_export(db, Scope.bureau(user="张三"), "走访清单", 3)
    con = sqlite3.connect(store.app_db(db))
    try:
        for sql in ('UPDATE audit SET "rows" = 0', "DELETE FROM audit"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()
    assert len(reads.export_audit(db, Scope.bureau())) == 1


def test_record_visit_refuses_people_outside_the_grid_and_bad_values(db: Path) -> None:
    outsider = person_id(2)
    with pytest.raises(writes.VisitError):
        writes.record_visit(db, Scope.cadre([STREET_A]), outsider, dt.date(2025, 7, 1), "拒绝")
    with pytest.raises(writes.VisitError):
        writes.record_visit(db, Scope.bureau(), outsider, dt.date(2025, 7, 1), "不知道")
    with pytest.raises(writes.VisitError):
        writes.record_visit(
            db, Scope.bureau(), outsider, dt.date(2025, 7, 9), "拒绝", today=dt.date(2025, 7, 1)
        )
    with pytest.raises(AccessDenied):
        writes.record_visit(db, Scope.leader(), outsider, dt.date(2025, 7, 1), "拒绝")


def test_exports_of_names_are_logged(db: Path) -> None:
    writes.log_export(db, Scope.cadre([STREET_A], user="王专干"), "走访清单 甲街道", 12)
    log = reads.export_audit(db, Scope.bureau())
    assert list(log[["user", "role", "rows"]].itertuples(index=False, name=None)) == [
        ("王专干", "cadre", 12)
    ]
    with pytest.raises(AccessDenied):
        writes.log_export(db, Scope.leader(), "x", 1)


# ---------------------------------------------------------------- outputs


def test_visit_sheet_is_a4_landscape_with_blank_columns(built: Path, tmp_path: Path) -> None:
    rows = reads.targets(built, current(built), Scope.cadre([STREET_A]))
    data = visit_sheet(rows, "甲街道", dt.date(2025, 6, 30), printed_by="王专干")
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(data)
    ws = openpyxl.load_workbook(path).active
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.print_title_rows == "$1:$3"
    assert "甲街道" in ws["A1"].value
    headers = [c.value for c in ws[3]]
    assert headers[-3:] == ["走访日期", "结果", "签名"]
    assert ws.max_row == 3 + len(rows)
    ids = [ws.cell(r, 3).value for r in range(4, ws.max_row + 1)]
    assert ids == list(rows["id_masked"])  # never the full ID number on paper


def test_map_colours_diverge_at_the_goal(built: Path) -> None:
    v = current(built)
    fig = maps.choropleth(
        reads.boundaries(built, "street"),
        reads.kpi(built, v, "street"),
        "coverage_rate",
        0.95,
        2025,
    )
    trace = fig.data[0]
    # The data's own range, never past 100%, white (the scale's middle colour) at the goal.
    assert trace.zmin < 0.95 < trace.zmax <= 1.0
    white = next(p for p, c in trace.colorscale if c == "#f7f7f7")
    assert white == pytest.approx((0.95 - trace.zmin) / (trace.zmax - trace.zmin), abs=1e-6)
    assert fig.layout.geo.visible is False and fig.layout.geo.fitbounds == "locations"
    # Areas and their names as text: no tile-based map traces.
    assert {t.type for t in fig.data} == {"choropleth", "scattergeo"}
    assert "mapbox" not in fig.to_json() and '"map"' not in fig.to_json()
    assert sorted(trace.locations) == sorted(STREETS)
    assert (
        maps.selected_code({"selection": {"points": [{"customdata": [STREET_B, "乙镇"]}]}})
        == STREET_B
    )


def test_no_read_leaves_the_database_locked(built: Path) -> None:
    reads.targets(built, current(built), Scope.bureau())
    con = duckdb.connect(str(built))  # a writer can open it right after
    con.close()


def test_filtering_in_memory_equals_filtering_in_the_database(db: Path) -> None:
    scope, version = Scope.bureau(), current(db)
    everyone = reads.targets(db, version, scope)
    for street, community, ttype, group, score in [
        (STREET_A, None, None, None, 0.0),
        (None, None, "enroll", None, 0.0),
        (None, None, None, 7, 0.0),
        (None, None, "upgrade", 4, 0.1),
        (STREET_A, everyone["community_code"].iloc[0], None, None, 0.0),
    ]:
        sql = reads.targets(
            db,
            version,
            scope,
            street=street,
            community=community,
            target_type=ttype,
            group=group,
            min_score=score,
        )
        mem = reads.filter_targets(
            everyone,
            street=street,
            community=community,
            target_type=ttype,
            group=group,
            min_score=score,
        )
        assert list(mem["id_number"]) == list(sql["id_number"])
        assert list(mem["grid_rank"]) == list(sql["grid_rank"])


# ---------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\户籍人口.csv", "户籍人口.csv"),
        ("a\x00b\nc.csv", "a_b_c.csv"),
        ("...hidden.csv", "hidden.csv"),
        ('低保<>:"|?*.xlsx', "低保_______.xlsx"),
        ("x" * 300 + ".csv", "x" * 116 + ".csv"),
        ("", "upload"),
    ],
)
def test_upload_names_are_sanitised(name: str, safe: str) -> None:
    assert workflow.upload_name(name) == safe


def test_uploads_are_staged_inside_the_work_folder(tmp_path: Path) -> None:
    paths = workflow.stage_uploads(
        [("../x.zip", b"z"), ("../../户籍人口.csv", b"a")], dt.date(2025, 6, 30), tmp_path
    )
    assert paths == [tmp_path / "2025-06-30", tmp_path / "x.zip"]
    assert (tmp_path / "2025-06-30" / "户籍人口.csv").read_bytes() == b"a"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "2025-06-30",
        "2025-06-30/户籍人口.csv",
        "x.zip",
    ]


def test_the_upload_imports_in_a_child_process_whose_death_is_a_clean_error(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = reads.status(db)
    batch = tmp_path / "2025-06-30"
    batch.mkdir()
    (batch / "低保.csv").write_text("身份证号,姓名\n", encoding="utf-8")
    # A child that dies without a word, as one killed by the kernel for memory would.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(ImportRejected, match="子进程意外退出"):
        workflow.import_and_build([batch], db)
    monkeypatch.undo()
    assert reads.status(db) == before


def test_the_upload_reports_the_childs_reason(db: Path, tmp_path: Path) -> None:
    batch = tmp_path / "2025-06-30"
    batch.mkdir()
    (batch / "户籍人口.csv").write_text("姓名,户籍地址编码\n张三,530181001001\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="户籍人口.csv"):
        workflow.import_and_build([batch], db)
