"""地图: streets coloured by a KPI against a goal; a click (or the selectbox) opens
the communities of one street."""

from __future__ import annotations

import pandas as pd
import streamlit as st

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
        config=maps.chart_config(
            f"{region}各街道{label}_{ctx.as_of:%Y%m%d}", topojsonURL=maps.OFFLINE_TOPOJSON_URL
        ),
    )
    st.caption(
        "红色：低于目标；蓝色：达到或超过目标；灰色：无应参保人口。点击街道查看其社区。"
        "图右上角的按钮可下载带标题、日期和来源的图片（PNG），供打印。"
    )

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
            config=maps.chart_config(
                f"{name}各社区{label}_{ctx.as_of:%Y%m%d}", topojsonURL=maps.OFFLINE_TOPOJSON_URL
            ),
        )
    table(communities, "社区/村")
