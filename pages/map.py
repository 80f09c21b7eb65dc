"""地图: streets coloured by a KPI against a goal; a click (or the selectbox) opens
the communities of one street.

The interactive maps are plotly, without a toolbar; the printable map is the
quarterly report's (:func:`geo.print_map.coverage_map`), offered as a PNG download
of the metric, goal and street shown, and audited as an ``export`` (aggregates:
every role may download)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import audit
from analytics.quarter.report import percent
from analytics.registry.versions import goal_met
from geo import maps
from pages import _shared as ui

ctx = ui.require_context()
goals = ui.goals(ctx.db, ctx.version)
st.title("扩面地图")
region = ctx.status.region_name or "全市"
SOURCE = f"来源：{region}基本养老保险扩面增效实名库"

c1, c2, c3 = st.columns([1, 1, 2])
with c1:
    metric = st.radio(
        "指标", list(maps.METRICS), format_func=maps.METRICS.get, horizontal=True, key="map_metric"
    )
with c2:
    year = st.radio(
        "对照目标",
        sorted(goals),
        format_func=lambda y: f"{y}年",
        horizontal=True,
        key="map_goal_year",
    )
goal = goals[year][0 if metric == "coverage_rate" else 1]
label = maps.METRICS[metric]
gap_col = maps.GAP_COLUMN[metric].format(year=year)

streets = ui.kpi(ctx.db, ctx.version, "street")
street_names = dict(zip(streets["code"], streets["name"]))
# A cadre's map opens on their own street's communities (the city's streets stay
# one choice away: aggregates are open to every role).
own = sorted({c[:9] for c in ctx.scope.grid or ()} & set(streets["code"]))
if own and "map_street" not in st.session_state:
    st.session_state["map_street"] = own[0]
with c3:
    options = [ui.ALL] + list(streets["code"])
    picked = st.selectbox(
        "查看街道/镇下的社区",
        options,
        key="map_street",
        format_func=lambda c: "（全市各街道）" if c == ui.ALL else (street_names.get(c) or c),
    )


def table(frame, level_label: str) -> None:
    """The numbers behind the map, also when there are no boundaries."""
    out = frame.assign(
        value=[ui.pct(v) for v in frame[metric]],
        meets=[
            "—" if pd.isna(v) else ("达标" if goal_met(v, goal) else "未达标")
            for v in frame[metric]
        ],
    )
    out = out[
        [
            "code",
            "name",
            "legal_population",
            "insured",
            "contributors",
            "employee_contributors",
            "value",
            "meets",
            gap_col,
            "targets",
            "target_entities",
        ]
    ]
    out.columns = [
        "代码",
        level_label,
        "应参保人口",
        "已参保",
        "缴费人员",
        "职工养老缴费",
        label,
        f"{year}年目标（{goal:.0%}）",
        "距目标缺口（人）",
        "扩面对象",
        "未参保市场主体",
    ]
    st.dataframe(ui.screen(out), hide_index=True, width="stretch")


RATE_PARTS = {
    "coverage_rate": ("insured", "legal_population"),
    "structure_ratio": ("employee_contributors", "contributors"),
}


def print_png(shapes: pd.DataFrame, frame: pd.DataFrame, title: str) -> bytes:
    """The printable map (the report's) of ``frame``'s areas for the metric and goal
    shown: rates printed as the report prints them (two decimals, half up)."""
    from geo.print_map import coverage_map

    num, den = RATE_PARTS[metric]
    rates = pd.DataFrame(
        {
            "code": frame["code"],
            "rate": frame[metric],
            "text": [
                percent(n, d) if d else "无数据"
                for n, d in zip(frame[num], frame[den], strict=True)
            ],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = coverage_map(
            shapes,
            rates,
            Path(tmp) / "map.png",
            title=title,
            date_line=f"数据日期：{ui.cn_date(ctx.as_of)}",
            source_line=SOURCE,
            goal=goal,
            goal_label=f"{year}年目标 {goal:.0%}",
            label=label,
        )
        return out.read_bytes()


def print_download(shapes: pd.DataFrame, frame: pd.DataFrame, title: str, key: str) -> None:
    """下载打印版地图: the PNG made on click, with its ``export`` row."""
    scope, db = ctx.scope, ctx.db
    what = f"打印版地图 {title} {ctx.as_of:%Y-%m-%d} 对照{year}年目标 格式=png"
    ui.download(
        "下载打印版地图（PNG）",
        lambda: print_png(shapes, frame, title),
        f"{title}_{ctx.as_of:%Y%m%d}.png",
        "image/png",
        key,
        # Aggregates: open to every role, and still logged as an export.
        lambda: audit.record(
            db, scope.user, scope.role, "export", what, rows=len(frame), detail=scope.describe()
        ),
    )


def pick_clicked_street() -> None:
    """A click on a street chooses it in the selectbox (callbacks run before the page)."""
    code = maps.selected_code(st.session_state.get("street_map"))
    if code in street_names:
        st.session_state["map_street"] = code


street_shapes = ui.boundaries(ctx.db, ctx.version, "street")
if street_shapes.empty:
    st.warning("边界数据缺失：尚未导入街道/社区边界（GeoJSON），下表列出各街道的数值。")
else:
    fig = maps.choropleth(
        street_shapes,
        streets,
        metric,
        goal,
        year,
        title=f"{region}各街道/镇{label}",
        date_text=f"数据日期：{ui.cn_date(ctx.as_of)}",
        source=SOURCE,
    )
    st.plotly_chart(
        fig,
        width="stretch",
        theme=None,
        key="street_map",
        on_select=pick_clicked_street,
        selection_mode="points",
        config=maps.map_config(topojsonURL=maps.OFFLINE_TOPOJSON_URL),
    )
    st.caption(
        "红色：低于目标；蓝色：达到或超过目标；灰色：无应参保人口。点击街道查看其社区。"
        "下方按钮可下载带标题、日期、来源和目标的打印版地图（PNG），与季度报告中的地图相同。"
    )
    print_download(street_shapes, streets, f"{region}各街道/镇{label}", "street_map_png")

street = None if picked == ui.ALL else picked
table(streets, "街道/镇")

if street:
    name = street_names.get(street) or street
    st.subheader(f"{name}：各社区/村{label}")
    communities = ui.kpi(ctx.db, ctx.version, "community", street)
    shapes = ui.boundaries(ctx.db, ctx.version, "community", street)
    if shapes.empty:
        st.warning("边界数据缺失：该街道没有社区/村边界，下表列出各社区的数值。")
    else:
        fig = maps.choropleth(
            shapes,
            communities,
            metric,
            goal,
            year,
            title=f"{name}各社区/村{label}",
            date_text=f"数据日期：{ui.cn_date(ctx.as_of)}",
            source=SOURCE,
        )
        st.plotly_chart(
            fig,
            width="stretch",
            theme=None,
            key=f"community_map_{street}",
            config=maps.map_config(topojsonURL=maps.OFFLINE_TOPOJSON_URL),
        )
        print_download(shapes, communities, f"{name}各社区/村{label}", "community_map_png")
    table(communities, "社区/村")
