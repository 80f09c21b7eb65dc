"""总览 under AppTest and its read functions: headline numbers short enough for a
1366 px screen with the full explanation below, why street gaps do not add up to
the city's, a cadre's own grid, the visit coverage per grid and per visitor, and
the printable map (names on the areas, a bounded colour scale, title, date and
source in the figure, a Chinese toolbar).

The tiny region (tests/tinyregion.py): two streets, four communities; one survey
row, of person 0 (东风社区) on 2025-05-10 by 李专干; the registry dates are in 2025.
"""

# ruff: noqa: F811 - the test functions take the fixtures imported from test_app

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from test_app import (  # noqa: F401 - the fixtures of the app's tests
    ACCOUNTS,
    STREET_A,
    STREETS,
    _navigation_as_served,
    app,
    audit_rows,
    built,
    db,
    downloads,
    fetch,
    goto,
    ok,
)
from tinyregion import COMMUNITIES, person_id

from analytics import reads, writes
from analytics.access import AccessDenied, Scope
from geo import maps

EAST = next(iter(COMMUNITIES))  # 东风社区, where the one survey is
# A metric's delta at 1366 px: four bordered metrics side by side leave about
# 250 px each, some 16 Chinese characters at the delta's size.
DELTA_CHARS = 16


def current(db: Path) -> int:
    return reads.status(db).current_version


def table_with(at, column: str):
    """The table on screen that has ``column`` (None when there is none)."""
    return next((d.value for d in at.dataframe if column in d.value.columns), None)


# ---------------------------------------------------------------- reads


def test_visit_coverage_counts_target_people_visited_in_the_year(db: Path) -> None:
    cover = reads.visit_coverage(db, current(db), Scope.bureau(), 2025).set_index("community_code")
    assert set(cover.index) == set(COMMUNITIES)
    east = cover.loc[EAST]
    assert (east["targets_visited"], east["visits"], bool(east["never_visited"])) == (1, 1, False)
    assert east["visited_share"] == pytest.approx(1 / east["targets"])
    others = cover.drop(index=EAST)
    assert others["never_visited"].all() and (others["visits"] == 0).all()
    # Another year: every grid is unvisited.
    assert reads.visit_coverage(db, current(db), Scope.bureau(), 2024)["never_visited"].all()


def test_visit_coverage_stays_in_a_cadres_grid(db: Path) -> None:
    cover = reads.visit_coverage(db, current(db), Scope.cadre([STREET_A]), 2025)
    assert set(cover["community_code"]) == {c for c in COMMUNITIES if c.startswith(STREET_A)}


def test_a_visit_recorded_in_the_app_counts_at_once(db: Path) -> None:
    scope = Scope.cadre([STREET_A], "王专干")
    west = list(COMMUNITIES)[1]  # 西山社区: person 1 lives there (i % 4 == 1)
    writes.record_visit(db, scope, person_id(1), dt.date(2025, 7, 1), "同意参保", surveyor="王专干")
    cover = reads.visit_coverage(db, current(db), scope, 2025).set_index("community_code")
    assert cover.loc[west, "visits"] == 1 and not cover.loc[west, "never_visited"]
    visitors = reads.visits_by_visitor(db, current(db), Scope.bureau(), 2025).set_index("surveyor")
    assert visitors.loc["王专干", "visits"] == 1 and visitors.loc["李专干", "visits"] == 1


def test_only_the_bureau_reads_the_visits_by_visitor(db: Path) -> None:
    with pytest.raises(AccessDenied):
        reads.visits_by_visitor(db, current(db), Scope.cadre([STREET_A]), 2025)


def test_grid_kpi_and_trend_are_the_grids_rows(db: Path) -> None:
    rows = reads.grid_kpi(db, current(db), (STREET_A, EAST))
    assert list(rows["code"]) == [STREET_A, EAST]
    street = reads.kpi(db, current(db), "street").set_index("code").loc[STREET_A]
    assert rows.iloc[0]["coverage_rate"] == street["coverage_rate"]
    trend = reads.grid_trend(db, (STREET_A,))
    assert len(trend) == len(reads.status(db).snapshots) and set(trend["code"]) == {STREET_A}


# ---------------------------------------------------------------- the page


def test_headline_deltas_fit_and_the_caption_explains_them(db: Path) -> None:
    at = app("leader")
    metrics = {m.label: m for m in at.metric}
    for label in ("参保率", "结构比", "距2025年目标的缺口", "距2035年目标的缺口"):
        assert len(metrics[label].delta) <= DELTA_CHARS, metrics[label].delta
        assert metrics[label].proto.help
    text = " ".join(c.value for c in at.caption)
    assert "还需参保" in text and "还需升级为职工养老" in text and "相差的百分点" in text


def test_the_page_says_why_street_gaps_do_not_add_up(db: Path) -> None:
    at = app("leader")
    city = reads.kpi(db, current(db), "city").iloc[0]
    streets = reads.kpi(db, current(db), "street")
    note = next(c.value for c in at.caption if "不必相等" in c.value)
    assert f"各街道“距目标还需参保”之和为 {int(streets['coverage_gap_2025'].sum()):,} 人" in note
    assert f"全市为 {int(city['coverage_gap_2025']):,} 人" in note
    assert "没有街道编码" in note and "向上取整" in note and "已达标的街道" in note


def test_a_cadre_sees_their_own_grid_first(db: Path) -> None:
    at = app("cadre")  # 王专干, street A (甲街道)
    assert at.title[0].value == "甲街道扩面增效总览"
    street = reads.kpi(db, current(db), "street").set_index("code").loc[STREET_A]
    assert at.metric[0].label == "参保率" and at.metric[0].value == f"{street['coverage_rate']:.2%}"
    grid = table_with(at, "本年未走访")
    assert set(grid["社区/村"]) == {n for c, n in COMMUNITIES.items() if c.startswith(STREET_A)}
    assert list(grid["本年未走访"]) == ["未走访", ""]  # 西山社区 first, then 东风社区
    assert table_with(at, "走访人员") is None  # no table naming staff
    titles = [
        json.loads(p.proto.spec)["layout"].get("title", {}).get("text")
        for p in at.get("plotly_chart")
    ]
    assert "参保率（甲街道）" in titles  # the grid's own trend


def test_the_bureau_sees_coverage_per_grid_and_per_visitor(db: Path) -> None:
    at = app("bureau")
    grid = table_with(at, "本年未走访")
    assert len(grid) == len(COMMUNITIES)
    assert (grid["本年未走访"] == "未走访").sum() == len(COMMUNITIES) - 1
    visitors = table_with(at, "走访人员")
    assert list(visitors["走访人员"]) == ["李专干"] and list(visitors["最近走访"]) == [
        "2025年5月10日"
    ]
    leader = app("leader")
    assert table_with(leader, "走访人员") is None


def test_every_chart_has_the_chinese_toolbar(db: Path) -> None:
    at = app("bureau")
    for chart in at.get("plotly_chart"):
        config = json.loads(chart.proto.config)
        assert config["locale"] == "zh-CN" and config["modeBarButtons"] == [["toImage"]]
        assert config["locales"]["zh-CN"]["dictionary"]["Download plot as a png"]


# ---------------------------------------------------------------- the printable map


def test_the_map_carries_names_title_date_and_source(db: Path) -> None:
    v = current(db)
    fig = maps.choropleth(
        reads.boundaries(db, "street"),
        reads.kpi(db, v, "street"),
        "coverage_rate",
        0.95,
        2025,
        title="示例市各街道/镇参保率",
        date_text="数据日期：2025年6月30日",
        source="来源：示例市基本养老保险扩面增效实名库",
    )
    labels = next(t for t in fig.data if t.type == "scattergeo")
    assert labels.mode == "text" and all("<br>" in t for t in labels.text)
    assert {t.split("<br>")[0] for t in labels.text} == {"甲街道", "乙镇"}
    assert "数据日期：2025年6月30日" in fig.layout.title.text
    assert "来源：" in fig.layout.annotations[0].text
    shape = fig.data[0]
    assert shape.zmax <= 1.0 and "目标 95%" in shape.colorbar.ticktext


def test_the_colour_range_never_passes_100_percent() -> None:
    assert maps.colour_range(pd.Series([0.995, 1.0]), 0.995)[1] == 1.0
    lo, hi = maps.colour_range(pd.Series([0.7, 0.8]), 0.95)
    assert (lo, hi) == (0.7, 0.96)


def test_the_map_page_passes_title_and_source_to_the_download(db: Path) -> None:
    at = goto(app("leader"), "pages/map.py")
    (chart,) = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert "数据日期" in spec["layout"]["title"]["text"]
    assert "来源" in spec["layout"]["annotations"][0]["text"]
    config = json.loads(chart.proto.config)
    assert config["topojsonURL"].startswith("data:")


def test_the_interactive_map_has_no_png_button_of_its_own(db: Path) -> None:
    # One printable map: the report's (below); the plotly map has no toolbar.
    at = goto(app("leader"), "pages/map.py")
    (chart,) = at.get("plotly_chart")
    config = json.loads(chart.proto.config)
    assert config["displayModeBar"] is False
    assert "toImageButtonOptions" not in config and "modeBarButtons" not in config
    assert config["locale"] == "zh-CN"


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("role", ["leader", "cadre", "bureau"])
def test_the_map_page_downloads_the_reports_printable_map(db: Path, downloads, role) -> None:
    at = goto(app(role), "pages/map.py")
    (button,) = [b for b in at.get("download_button") if b.key == "street_map_png"]
    assert button.proto.label == "下载打印版地图（PNG）"
    before = len(audit_rows(db, "export"))
    png = fetch(at, downloads, "street_map_png")
    assert png.startswith(PNG)
    rows = audit_rows(db, "export")
    assert len(rows) == before + 1
    user, logged_role, _, what, n, _ = rows[-1]
    assert user == ACCOUNTS[role][0]
    assert logged_role == role and what.startswith("打印版地图 ") and "参保率" in what
    assert n == len(STREETS)


def test_the_printable_map_follows_the_metric_goal_and_street(db: Path, downloads) -> None:
    from geo import print_map

    drawn = []
    real = print_map.coverage_map

    def spy(shapes, rates, out, **kw):
        drawn.append((sorted(shapes["code"]), kw))
        return real(shapes, rates, out, **kw)

    print_map.coverage_map = spy
    try:
        at = goto(app("bureau"), "pages/map.py")
        at.radio(key="map_metric").set_value("structure_ratio").run()
        at.selectbox(key="map_street").set_value(STREET_A).run()
        ok(at)
        keys = {b.key for b in at.get("download_button")}
        assert {"street_map_png", "community_map_png"} <= keys
        assert fetch(at, downloads, "community_map_png").startswith(PNG)
    finally:
        print_map.coverage_map = real
    ((codes, kw),) = drawn
    assert all(c.startswith(STREET_A) for c in codes)
    assert kw["label"] == "结构比" and "结构比" in kw["title"]
    assert kw["goal_label"] == f"{at.radio(key='map_goal_year').value}年目标 {kw['goal']:.0%}"
    assert audit_rows(db, "export")[-1][3].startswith("打印版地图 ")
