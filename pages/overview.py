"""总览: the city's two KPIs against the goals (2025 and 2035 by default), the
quarterly trend, and the streets ranked by coverage."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.registry.versions import goal_met
from pages import _shared as ui

ctx = ui.require_context()
goals = ui.goals(ctx.db, ctx.version)
years = sorted(goals)
first = years[0]
city = ui.kpi(ctx.db, ctx.version, "city").iloc[0]

st.title(f"{city['name'] or '全市'}扩面增效总览")
st.caption(
    f"数据日期：{ctx.as_of:%Y年%m月%d日}　应参保人口 {int(city['legal_population']):,} 人　"
    f"已参保 {int(city['insured']):,} 人　缴费人员 {int(city['contributors']):,} 人"
)

cols = st.columns(2 + len(years))
for col, (metric, label) in zip(
    cols[:2], [("coverage_rate", "参保率"), ("structure_ratio", "结构比")]
):
    value = city[metric]
    goal = goals[first][0 if metric == "coverage_rate" else 1]
    with col:
        st.metric(
            label,
            ui.pct(value),
            delta=None
            if pd.isna(value)
            else f"{(value - goal) * 100:+.2f} 个百分点（对比{first}年目标 {goal:.0%}）",
            delta_color="normal",
            border=True,
        )
for col, year in zip(cols[2:], years):
    with col:
        cov_gap, str_gap = int(city[f"coverage_gap_{year}"]), int(city[f"structure_gap_{year}"])
        st.metric(
            f"距{year}年目标的缺口",
            f"{cov_gap:,} 人",
            delta=f"参保率目标 {goals[year][0]:.0%}；另需升级职工养老 {str_gap:,} 人"
            f"（结构比目标 {goals[year][1]:.0%}）",
            delta_color="off",
            border=True,
        )

targets_total = int(city["targets_enroll"] + city["targets_upgrade"] + city["targets_resume"])
st.caption(
    f"扩面对象：未参保 {int(city['targets_enroll']):,} 人，升级 "
    f"{int(city['targets_upgrade']):,} 人，断缴 {int(city['targets_resume']):,} 人，"
    f"合计 {targets_total:,} 人；未参保市场主体 {int(city['target_entities']):,} 户。"
)

# ---------------------------------------------------------------- trend
st.subheader("季度趋势")
trend = ui.kpi_trend(ctx.db, ctx.status.snapshots, "city")
left, right = st.columns(2)
for col, (metric, label, goal_idx) in zip(
    (left, right), [("coverage_rate", "参保率", 0), ("structure_ratio", "结构比", 1)]
):
    fig = go.Figure()
    # Snapshot dates as labels: one tick per quarter, no English month names.
    dates = [f"{pd.Timestamp(d):%Y-%m-%d}" for d in trend["as_of"]]
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=trend[metric],
            mode="lines+markers+text",
            name=label,
            text=[ui.pct(v, 1) for v in trend[metric]],
            textposition="top center",
            hovertemplate="%{x}<br>" + label + "：%{y:.2%}<extra></extra>",
        )
    )
    for year, dash in zip(years, ("dash", "dot", "dashdot", "longdash") * len(years)):
        fig.add_hline(
            y=goals[year][goal_idx],
            line_dash=dash,
            line_color="#b2182b",
            annotation_text=f"{year}年目标 {goals[year][goal_idx]:.0%}",
            annotation_position="top left",
        )
    fig.update_layout(
        title=f"{label}（全市）",
        height=340,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        yaxis_tickformat=".0%",
        showlegend=False,
        xaxis_title=None,
    )
    fig.update_xaxes(type="category")
    with col:
        st.plotly_chart(fig, width="stretch", key=f"trend_{metric}")

# ---------------------------------------------------------------- street ranking
st.subheader("街道排名")
year = st.radio(
    "对照目标", years, horizontal=True, format_func=lambda y: f"{y}年目标", key="overview_goal_year"
)
goal_cov, goal_str = goals[year]
streets = ui.kpi(ctx.db, ctx.version, "street").dropna(subset=["coverage_rate"])
if streets.empty:
    st.info("没有街道数据。")
    st.stop()
streets = streets.sort_values(["coverage_rate", "code"], ascending=[False, True])
streets["meets"] = [goal_met(v, goal_cov) for v in streets["coverage_rate"]]
streets["label"] = streets["name"].where(streets["name"] != "", streets["code"])
fig = go.Figure(
    go.Bar(
        x=streets["coverage_rate"],
        y=streets["label"],
        orientation="h",
        marker_color=["#2166ac" if m else "#b2182b" for m in streets["meets"]],
        text=[ui.pct(v, 1) for v in streets["coverage_rate"]],
        textposition="outside",
        customdata=streets[[f"coverage_gap_{year}", "legal_population"]].to_numpy(),
        hovertemplate="%{y}<br>参保率：%{x:.2%}<br>距目标还需参保：%{customdata[0]:,} 人"
        "<br>应参保人口：%{customdata[1]:,} 人<extra></extra>",
    )
)
fig.add_vline(
    x=goal_cov,
    line_dash="dash",
    line_color="#333333",
    annotation_text=f"{year}年目标 {goal_cov:.0%}",
)
lo = float(streets["coverage_rate"].min())
fig.update_layout(
    height=max(260, 36 * len(streets) + 80),
    margin={"l": 10, "r": 40, "t": 30, "b": 10},
    xaxis={"tickformat": ".0%", "range": [max(0.0, min(lo, goal_cov) - 0.05), 1.02]},
    yaxis={"autorange": "reversed"},
    showlegend=False,
)
st.plotly_chart(fig, width="stretch", key="street_rank")
st.caption("蓝色：已达到所选目标；红色：未达到。")

table = streets.assign(
    rank=range(1, len(streets) + 1),
    coverage=[ui.pct(v) for v in streets["coverage_rate"]],
    structure=[ui.pct(v) for v in streets["structure_ratio"]],
    status=["达标" if m else "未达标" for m in streets["meets"]],
    structure_status=[
        "达标" if goal_met(v, goal_str) else "未达标" for v in streets["structure_ratio"]
    ],
)[
    [
        "rank",
        "label",
        "legal_population",
        "insured",
        "coverage",
        "status",
        f"coverage_gap_{year}",
        "contributors",
        "employee_contributors",
        "structure",
        "structure_status",
        f"structure_gap_{year}",
        "targets",
    ]
]
table.columns = [
    "排名",
    "街道/镇",
    "应参保人口",
    "已参保",
    "参保率",
    "参保率达标",
    "距目标还需参保",
    "缴费人员",
    "职工养老缴费",
    "结构比",
    "结构比达标",
    "距目标还需升级",
    "扩面对象",
]
st.dataframe(table, hide_index=True, width="stretch")
