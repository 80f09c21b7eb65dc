"""The dashboard pages under streamlit.testing.v1.AppTest (no browser): every page
for every role runs without an exception, the numbers on screen equal the exports,
personal data is masked or withheld, and the main widget paths work."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from tinyregion import COMMUNITIES, STREETS, build_tiny_db, copy_database, write_batches

from analytics import published, store
from analytics.exports import export

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = [
    "pages/overview.py",
    "pages/map.py",
    "pages/visits.py",
    "pages/registry.py",
    "pages/data_import.py",
]
STREET_A, STREET_B = list(STREETS)
TIMEOUT = 60


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_db(tmp_path_factory.mktemp("tiny-app"))


@pytest.fixture
def db(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "app.duckdb"
    copy_database(built, copy)
    monkeypatch.setenv("KUOMIAN_DB", str(copy))
    return copy


def app(role: str = "bureau", **state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["login_role"] = role
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    return ok(at.switch_page(page).run())


def app_query(db: Path, sql: str) -> list[tuple]:
    """Rows of the app store (visits, audit) that belongs to ``db``."""
    con = sqlite3.connect(store.app_db(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def screen_text(at: AppTest) -> str:
    """Every value shown in tables, metrics and text on the page."""
    parts = [str(d.value.to_csv()) for d in at.dataframe]
    parts += [f"{m.label} {m.value} {m.delta}" for m in at.metric]
    parts += [str(e.value) for e in (*at.markdown, *at.caption, *at.subheader, *at.title)]
    return "\n".join(parts)


# ---------------------------------------------------------------- every page, every role


@pytest.mark.parametrize("role", ["leader", "cadre", "bureau"])
def test_every_page_runs_for_every_role(db: Path, role: str) -> None:
    at = ok(app(role))
    for page in PAGES:
        goto(at, page)


def test_no_registry_says_how_to_import_and_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUOMIAN_DB", str(tmp_path / "none.duckdb"))
    at = ok(app("leader"))
    assert "kuomian build" in at.info[0].value
    at = ok(app("bureau"))  # the bureau lands on the import page
    assert at.title[0].value == "数据导入与数据质量"


# ---------------------------------------------------------------- overview


def test_overview_metrics_equal_the_kpi_export(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "kpi.csv"
    export("kpi", db, out, level="city")
    city = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    at = ok(app("leader"))
    metrics = {m.label: m for m in at.metric}
    assert metrics["参保率"].value == f"{float(city['coverage_rate']):.2%}"
    assert metrics["结构比"].value == f"{float(city['structure_ratio']):.2%}"
    assert metrics["距2025年目标的缺口"].value == f"{int(city['coverage_gap_2025']):,} 人"
    assert metrics["距2035年目标的缺口"].value == f"{int(city['coverage_gap_2035']):,} 人"
    ranking = at.dataframe[0].value
    assert list(ranking["街道/镇"]) == ["甲街道", "乙镇"]  # 83.33% before 80.00%


def test_overview_follows_the_date_picker(db: Path) -> None:
    at = ok(app("leader"))
    at.sidebar.selectbox(key="as_of").select_index(0).run()
    (coverage,) = query(
        db,
        "SELECT k.coverage_rate FROM reg_kpi k JOIN registry_versions v "
        "USING (version) WHERE level = 'city' ORDER BY v.as_of LIMIT 1",
    )[0]
    assert {m.label: m.value for m in ok(at).metric}["参保率"] == f"{coverage:.2%}"


# ---------------------------------------------------------------- map


def test_map_draws_streets_and_a_street_shows_its_communities(db: Path) -> None:
    at = goto(app("leader"), "pages/map.py")
    charts = at.get("plotly_chart")
    assert len(charts) == 1 and len(at.dataframe) == 1
    at.radio(key="map_metric").set_value("structure_ratio").run()
    at.radio(key="map_goal_year").set_value(2035).run()
    at.selectbox(key="map_street").set_value(STREET_A).run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2
    communities = at.dataframe[1].value
    assert set(communities["代码"]) == {c for c in COMMUNITIES if c.startswith(STREET_A)}


def test_map_without_boundaries_says_so_and_shows_the_table(db: Path) -> None:
    with published.writer_lock(db, "test"):
        con = duckdb.connect(str(db))
        con.execute("DELETE FROM boundaries")
        published.publish(con, db, "test")  # as an import without boundaries would
        con.close()
    at = goto(app("leader"), "pages/map.py")
    assert any("边界数据缺失" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 0 and len(at.dataframe[0].value) == len(STREETS)


# ---------------------------------------------------------------- visits


def test_cadre_visit_list_holds_only_their_grid_with_masked_ids(db: Path) -> None:
    at = goto(app("cadre", login_street=STREET_B), "pages/visits.py")
    shown = at.dataframe[0].value
    grid = query(
        db,
        f"SELECT id_number FROM reg_targets_ranked WHERE version = (SELECT max(version) "
        f"FROM registry_versions) AND street_code = '{STREET_B}' ORDER BY rank",
    )
    assert len(shown) == len(grid) > 0
    assert set(shown["community_name"]) <= {
        n for c, n in COMMUNITIES.items() if c.startswith(STREET_B)
    }
    text = screen_text(at)
    everyone = query(db, "SELECT id_number FROM reg_persons")
    assert not any(i in text for (i,) in everyone)  # no full ID number on screen
    assert all(m[4:14] == "*" * 10 for m in shown["id_masked"])


def test_visit_filters_narrow_the_list(db: Path) -> None:
    at = goto(app("bureau"), "pages/visits.py")
    total = len(at.dataframe[0].value)
    at.selectbox(key="visits_type").set_value("upgrade").run()
    upgrades = ok(at).dataframe[0].value
    assert 0 < len(upgrades) < total and set(upgrades["target_label"]) == {"升级"}
    at.selectbox(key="visits_group").set_value(4).run()
    assert set(ok(at).dataframe[0].value["groups_text"]) == {"4"}
    at.number_input(key="visits_min_score").set_value(0.99).run()
    assert ok(at).dataframe[0].value.empty


def test_downloading_the_visit_sheet_is_logged(db: Path) -> None:
    at = goto(app("cadre", login_street=STREET_A, login_user="王专干"), "pages/visits.py")
    rows = len(at.dataframe[0].value)
    at.download_button[0].click().run()
    ok(at)
    assert app_query(db, 'SELECT "user", role, "rows" FROM audit WHERE action = \'export\'') == [
        ("王专干", "cadre", rows)
    ]


def test_recording_a_visit_updates_the_list(db: Path) -> None:
    at = goto(app("cadre", login_street=STREET_A, login_user="王专干"), "pages/visits.py")
    first = at.dataframe[0].value.iloc[0]
    at.selectbox(key="visit_result").set_value("同意参保")
    at.text_input(key="visit_phone").input("13900002222")
    at.form_submit_button[0].click().run()
    ok(at)
    assert any("已保存" in s.value for s in at.success)
    shown = at.dataframe[0].value
    row = shown[shown["name"] == first["name"]].iloc[0]
    assert row["survey_result"] == "同意参保" and row["phone_masked"] == "139****2222"
    assert app_query(db, "SELECT count(*) FROM visits WHERE as_of IS NOT NULL") == [(1,)]


# ---------------------------------------------------------------- registry


def test_registry_search_opens_a_card(db: Path) -> None:
    at = goto(app("bureau"), "pages/registry.py")
    at.text_input(key="registry_query").input("测试0").run()
    ok(at)
    assert at.subheader[0].value.startswith("测试0")
    text = screen_text(at)
    assert "考虑中" in text and "138****5678" in text and "13812345678" not in text


def test_registry_search_stays_in_the_cadres_grid(db: Path) -> None:
    at = goto(app("cadre", login_street=STREET_B), "pages/registry.py")
    at.text_input(key="registry_query").input("测试0").run()  # 测试0 lives in street A
    assert any("没有找到" in i.value for i in ok(at).info)


# ---------------------------------------------------------------- data import


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f"{folder.name}/{f.name}")
    return buf.getvalue()


def test_import_page_imports_builds_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "fresh.duckdb"
    monkeypatch.setenv("KUOMIAN_DB", str(target))
    folders = write_batches(tmp_path / "batches")
    at = ok(app("bureau"))
    at.file_uploader[0].set_value([(f"{f.name}.zip", _zip(f), "application/zip") for f in folders])
    at.form_submit_button[0].click().run()
    ok(at)
    assert any("已导入" in s.value for s in at.success), [e.value for e in at.error]
    report = at.dataframe[0].value
    assert (report["读取"] == report["接收"] + report["重复"] + report["问题"]).all()
    assert query(target, "SELECT count(*) FROM registry_versions") == [(2,)]
    # The problem data of the build: the 17-digit ID of the second batch.
    assert "invalid_id" in screen_text(at)


def test_import_page_shows_a_rejected_batch(db: Path, tmp_path: Path) -> None:
    before = query(db, "SELECT count(*) FROM import_files")
    at = goto(app("bureau"), "pages/data_import.py")
    bad = "姓名,户籍地址编码\n张三,530181001001\n".encode()
    at.file_uploader[0].set_value([("户籍人口.csv", bad, "text/csv")])
    at.form_submit_button[0].click().run()
    ok(at)
    assert any("导入被拒绝" in e.value and "户籍人口.csv" in e.value for e in at.error)
    assert query(db, "SELECT count(*) FROM import_files") == before
