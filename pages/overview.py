"""总览: the two KPIs against the goals (2025 and 2035 by default), the quarterly
trend, the streets ranked by coverage, and the visits of the year. A cadre sees
their own grid first (its KPIs, trend, targets, tasks and visits), then the city;
the bureau also sees the visit coverage of every grid and every visitor."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import reads
from analytics.quarter import AssessmentError, assessment
from analytics.registry.versions import goal_met
from pages import _shared as ui

ctx = ui.require_context()
goals = ui.goals(ctx.db, ctx.version)
years = sorted(goals)
first = years[0]
city = ui.kpi(ctx.db, ctx.version, "city").iloc[0]
is_cadre = ctx.scope.role == "cadre"
year_now = ctx.as_of.year  # the year of the date viewed: "this year" for the visits
stamp = reads.visits_stamp(ctx.db)


def points(value: float, goal: float) -> str:
    return f"{(value - goal) * 100:+.2f} 个百分点"


def headline(row: pd.Series, where: str) -> None:
    """Four short numbers that fit side by side at 1366 px; what they mean in full
    is the caption under them."""
    cols = st.columns(2 + len(years))
    for col, (metric, label, i) in zip(
        cols[:2], [("coverage_rate", "参保率", 0), ("structure_ratio", "结构比", 1)]
    ):
        value, goal = row[metric], goals[first][i]
        with col:
            st.metric(
                label,
                ui.pct(value),
                delta=None if pd.isna(value) else points(value, goal),
                delta_color="normal",
                help=f"与{first}年目标 {goal:.0%} 相比",
                border=True,
            )
    for col, year in zip(cols[2:], years):
        cov_gap, str_gap = int(row[f"coverage_gap_{year}"]), int(row[f"structure_gap_{year}"])
        with col:
            st.metric(
                f"距{year}年目标的缺口",
                f"{cov_gap:,} 人",
                delta=f"另需升级 {str_gap:,} 人",
                delta_color="off",
                delta_arrow="off",
                help=f"参保率目标 {goals[year][0]:.0%}；结构比目标 {goals[year][1]:.0%}",
                border=True,
            )
    first_line = (
        f"{where}参保率 {ui.pct(row['coverage_rate'])}、结构比 {ui.pct(row['structure_ratio'])}，"
        f"箭头旁为与{first}年目标（参保率 {goals[first][0]:.0%}、结构比 {goals[first][1]:.0%}）"
        "相差的百分点。"
    )
    lines = [first_line]
    for year in years:
        cov, struc = goals[year]
        lines.append(
            f"距{year}年目标的缺口：参保率要达到 {cov:.0%}，还需参保 "
            f"{int(row[f'coverage_gap_{year}']):,} 人；结构比要达到 {struc:.0%}，"
            f"在缴费人员不变时还需升级为职工养老 {int(row[f'structure_gap_{year}']):,} 人。"
        )
    targets_total = int(row["targets_enroll"] + row["targets_upgrade"] + row["targets_resume"])
    lines.append(
        f"扩面对象：未参保 {int(row['targets_enroll']):,} 人，升级 "
        f"{int(row['targets_upgrade']):,} 人，断缴 {int(row['targets_resume']):,} 人，"
        f"合计 {targets_total:,} 人；未参保市场主体 {int(row['target_entities']):,} 户。"
    )
    st.caption("\n\n".join(lines))


def trend_chart(trend: pd.DataFrame, metric: str, label: str, goal_idx: int, where: str, key):
    """One KPI over the snapshots, a line per area, the goals as dashed lines."""
    fig = go.Figure()
    for code, part in trend.groupby("code", sort=True):
        # Snapshot dates as Chinese labels: one tick per quarter, no month names.
        name = part["name"].iloc[-1] or code
        fig.add_trace(
            go.Scatter(
                x=[ui.cn_date(d) for d in part["as_of"]],
                y=part[metric],
                mode="lines+markers+text",
                name=name,
                text=[ui.pct(v, 1) for v in part[metric]],
                textposition="top center",
                hovertemplate=f"{name}<br>%{{x}}<br>{label}：%{{y:.2%}}<extra></extra>",
            )
        )
    # Goals a point apart (95% and 96%) would write their labels over each other:
    # the first below its line, the next above, and so on.
    for i, (year, dash) in enumerate(zip(years, ("dash", "dot", "dashdot", "longdash") * 4)):
        fig.add_hline(
            y=goals[year][goal_idx],
            line_dash=dash,
            line_color="#b2182b",
            annotation_text=f"{year}年目标 {goals[year][goal_idx]:.0%}",
            annotation_position=("bottom left", "top left")[i % 2],
        )
    fig.update_layout(
        title=f"{label}（{where}）",
        height=340,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        yaxis_tickformat=".0%",
        showlegend=trend["code"].nunique() > 1,
        xaxis_title=None,
    )
    fig.update_xaxes(type="category")
    st.plotly_chart(fig, width="stretch", key=key, config=ui.chart_config(f"{label}趋势_{where}"))


def trends(trend: pd.DataFrame, where: str, key: str) -> None:
    left, right = st.columns(2)
    for col, (metric, label, goal_idx) in zip(
        (left, right), [("coverage_rate", "参保率", 0), ("structure_ratio", "结构比", 1)]
    ):
        with col:
            trend_chart(trend, metric, label, goal_idx, where, f"{key}_{metric}")


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    return ui.screen(
        pd.DataFrame(
            {
                "街道/镇": frame["street_name"].where(
                    frame["street_name"] != "", frame["street_code"]
                ),
                "社区/村": frame["community_name"].where(
                    frame["community_name"] != "", frame["community_code"]
                ),
                "扩面对象": frame["targets"],
                "本年已走访对象": frame["targets_visited"],
                "走访覆盖率": [ui.pct(v, 1) for v in frame["visited_share"]],
                "本年走访次数": frame["visits"],
                "最近走访": frame["last_visit"],
                "本年未走访": ["未走访" if n else "" for n in frame["never_visited"]],
            }
        )
    )


def visits_summary(frame: pd.DataFrame, where: str) -> None:
    t = reads.coverage_totals(frame)
    a, b, c = st.columns(3)
    a.metric(
        f"{year_now}年走访次数",
        f"{t['visits']:,} 次",
        help="入户调查：导入的调查数据与本系统录入的走访",
        border=True,
    )
    b.metric(
        "扩面对象走访覆盖率",
        ui.pct(t["visited_share"], 1),
        delta=f"已走访 {t['targets_visited']:,} / {t['targets']:,} 人",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    c.metric(
        "本年未走访的社区/村",
        f"{t['never_visited']:,} 个",
        delta=f"共 {t['grids']:,} 个",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    st.caption(
        f"{where}{year_now}年的走访（调查日期在{year_now}年内）。每个网格（社区/村）每年至少走访一次；"
        "“本年未走访”的网格排在最前。走访覆盖率 = 本年走访过的扩面对象 ÷ 扩面对象。"
    )


# ---------------------------------------------------------------- a cadre's own grid
if is_cadre:
    codes = tuple(ctx.scope.grid or ())
    st.title(f"{ctx.grid_name}扩面增效总览")
    st.caption(f"我的网格：{ctx.grid_name}　数据日期：{ui.cn_date(ctx.as_of)}")
    mine = ui.grid_kpi(ctx.db, ctx.version, codes)
    for row in mine.itertuples(index=False):
        row = pd.Series(row._asdict())
        if len(mine) > 1:
            st.markdown(f"**{row['name'] or row['code']}**")
        headline(row, row["name"] or row["code"])
    st.subheader("我的网格：季度趋势")
    trends(ui.grid_trend(ctx.db, ctx.status.snapshots, codes), ctx.grid_name, "grid_trend")

    st.subheader(f"我的网格：{year_now}年任务")
    streets_of_grid = sorted({c[:9] for c in codes})
    try:
        tasks = assessment(ctx.db, year_now, ctx.as_of)
    except AssessmentError:
        tasks = pd.DataFrame()
    if tasks.empty or year_now > years[-1]:
        st.caption("所选日期没有年度任务。")
    else:
        mine_tasks = tasks[tasks["street_code"].isin(streets_of_grid)]
        st.dataframe(
            ui.screen(
                pd.DataFrame(
                    {
                        "街道/镇": mine_tasks["name"].fillna(mine_tasks["street_code"]),
                        "扩面任务": mine_tasks["coverage_task"],
                        "已完成扩面": mine_tasks["coverage_done"],
                        "扩面完成率": [ui.pct(v, 1) for v in mine_tasks["coverage_completion"]],
                        "提升结构比任务": mine_tasks["structure_task"],
                        "已完成提升": mine_tasks["structure_done"],
                        "提升完成率": [ui.pct(v, 1) for v in mine_tasks["structure_completion"]],
                    }
                )
            ),
            hide_index=True,
            width="stretch",
            key="grid_tasks",
        )
        st.caption("任务按街道分解；社区/村的专干看所在街道的任务。详见「考核与通报」。")

    st.subheader(f"我的网格：{year_now}年走访")
    cover = ui.visit_coverage(ctx.db, ctx.version, ctx.scope, year_now, stamp)
    visits_summary(cover, ctx.grid_name)
    st.dataframe(coverage_table(cover), hide_index=True, width="stretch", key="grid_coverage")
    st.divider()
    st.subheader(f"{city['name'] or '全市'}")
else:
    st.title(f"{city['name'] or '全市'}扩面增效总览")

st.caption(
    f"数据日期：{ui.cn_date(ctx.as_of)}　应参保人口 {int(city['legal_population']):,} 人　"
    f"已参保 {int(city['insured']):,} 人　缴费人员 {int(city['contributors']):,} 人"
)
headline(city, city["name"] or "全市")

# ---------------------------------------------------------------- trend
st.subheader("季度趋势")
trends(ui.kpi_trend(ctx.db, ctx.status.snapshots, "city"), "全市", "trend")

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
st.plotly_chart(fig, width="stretch", key="street_rank", config=ui.chart_config("街道排名"))
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
st.dataframe(ui.screen(table), hide_index=True, width="stretch")

# Why the streets' gaps do not add up to the city's: three reasons, with numbers.
street_gap = int(streets[f"coverage_gap_{year}"].sum())
city_gap = int(city[f"coverage_gap_{year}"])
unplaced = int(city["legal_population"]) - int(streets["legal_population"].sum())
met = int(streets["meets"].sum())
st.caption(
    f"各街道“距目标还需参保”之和为 {street_gap:,} 人，全市为 {city_gap:,} 人，两者不必相等："
    f"① 没有街道编码的人员（应参保人口中有 {max(unplaced, 0):,} 人）只计入全市，不计入任何街道；"
    "② 每个街道的缺口各自向上取整为整人，合计会比全市一次取整多；"
    f"③ 已达标的街道（{met} 个）缺口记为 0，其超出目标的部分不抵减其他街道的缺口。"
)

# ---------------------------------------------------------------- visits (bureau, leaders)
if not is_cadre:
    st.subheader(f"{year_now}年走访覆盖")
    cover = ui.visit_coverage(ctx.db, ctx.version, ctx.scope, year_now, stamp)
    visits_summary(cover, "全市")
    st.dataframe(coverage_table(cover), hide_index=True, width="stretch", key="coverage_grid")
    if ctx.scope.role == "bureau":
        st.markdown("**各走访人员**")
        by_visitor = ui.visits_by_visitor(ctx.db, ctx.version, ctx.scope, year_now, stamp)
        if by_visitor.empty:
            st.caption(f"{year_now}年还没有走访记录。")
        else:
            st.dataframe(
                ui.screen(
                    pd.DataFrame(
                        {
                            "走访人员": by_visitor["surveyor"].replace("", "（未填调查人）"),
                            "走访次数": by_visitor["visits"],
                            "走访人数": by_visitor["people"],
                            "其中扩面对象": by_visitor["targets_visited"],
                            "走访社区/村数": by_visitor["communities"],
                            "最近走访": by_visitor["last_visit"],
                        }
                    )
                ),
                hide_index=True,
                width="stretch",
                key="coverage_visitor",
            )
            st.caption(
                "走访人员：调查数据的“调查人”；本系统录入的走访默认为录入的账号。"
                "扩面对象走访覆盖率见上表。"
            )
