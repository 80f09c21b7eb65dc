"""目标测算: what a yearly campaign of N enrollments and M upgrades gives, year by
year to the last goal year (``kuomian plan``), and the smallest N and M that meet
a goal year's goals (``kuomian plan --reach``), from the newest registry and the
flows observed between its snapshots; of the city, of one street chosen (its own
people, flows and KPI) or of one priority group (its people and flows). Aggregates
only."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.quarter.plan import PlanError, observed_flows, plan, reach
from analytics.reads.labels import GROUPS, group_label
from analytics.registry.versions import goal_met
from pages import _session as session
from pages import _shared as ui


@st.cache_data(show_spinner="正在测算……", max_entries=64)
def cached_plan(
    db: str, version: int, enroll: int, upgrade: int, street: str | None, group: int | None
) -> pd.DataFrame:
    return plan(db, enroll, upgrade, street=street, group=group)


@st.cache_data(show_spinner="正在反推每年所需人数……", max_entries=16)
def cached_reach(
    db: str, version: int, year: int, street: str | None, group: int | None
) -> pd.DataFrame:
    return reach(db, year, street=street, group=group)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_flows(db: str, version: int, street: str | None, group: int | None):
    return observed_flows(db, street=street, group=group)


def whole(v: object) -> str:
    return "—" if v is None or pd.isna(v) else f"{int(v):,}"


def cn_date(d) -> str:
    """A date as 2025年6月30日 (no leading zeros)."""
    return f"{d.year}年{d.month}月{d.day}日"


def per_mille(rate: object) -> str:
    return f"{float(rate) * 1000:.1f}‰"


ctx = ui.require_context()
st.title("目标测算")
# The planner works from the registry in use (the newest build), whatever date
# the sidebar shows: its first row is that registry's city KPI.
version = ctx.status.current_version
goals = ui.goals(ctx.db, version)
streets = ui.kpi(ctx.db, version, "street")
street_names = dict(zip(streets["code"], streets["name"]))

# ---------------------------------------------------------------- the what-if
# The scope: the city, a street (its 9-digit code) or a priority group ("group:G").
GROUP_SCOPE = "group:"


def scope_label(scope: str) -> str:
    if scope == ui.ALL:
        return "全市"
    if scope.startswith(GROUP_SCOPE):
        return "重点群体 " + group_label(scope.removeprefix(GROUP_SCOPE))
    return street_names.get(scope) or scope


a, b, c = st.columns([1, 1, 2])
with c:
    picked = st.selectbox(
        "测算范围",
        [ui.ALL, *streets["code"], *(f"{GROUP_SCOPE}{g}" for g in sorted(GROUPS))],
        key="plan_street",
        format_func=scope_label,
    )
group = int(picked.removeprefix(GROUP_SCOPE)) if picked.startswith(GROUP_SCOPE) else None
street = None if picked == ui.ALL or group is not None else picked
where = scope_label(picked)
st.caption(
    f"{where}：基于最新实名库（{cn_date(ctx.status.current_as_of)}）与各季度快照间观察到的"
    f"人口流动，逐年测算至{max(goals)}年。"
    + ("" if street is None else "街道测算只计该街道的人员及其流动，迁入迁出（含街道间）不计。")
    + (
        ""
        if group is None
        else "重点群体测算只计各快照中属于该群体的人员及其流动，进入或离开该群体不计。"
    )
)
with a:
    enroll = st.number_input(
        "每年新增参保（人）", min_value=0, value=0, step=100, key="plan_enroll"
    )
with b:
    upgrade = st.number_input(
        "每年提升为职工养老（人）", min_value=0, value=0, step=100, key="plan_upgrade"
    )
try:
    frame = cached_plan(ctx.db, version, int(enroll), int(upgrade), street, group)
except PlanError as exc:
    st.error(session.chinese(exc) + "。")
    st.stop()

fig = go.Figure()
for metric, label, colour in (
    ("coverage_rate", "参保率", "#2166ac"),
    ("structure_ratio", "结构比", "#1b7837"),
):
    fig.add_trace(
        go.Scatter(
            x=frame["year"],
            y=frame[metric],
            mode="lines+markers",
            name=label,
            line_color=colour,
            hovertemplate="%{x}年<br>" + label + "：%{y:.2%}<extra></extra>",
        )
    )
    for i, (year, pair) in enumerate(sorted(goals.items())):
        goal = pair[0 if metric == "coverage_rate" else 1]
        fig.add_trace(
            go.Scatter(
                x=[frame["year"].min(), year],
                y=[goal, goal],
                mode="lines",
                name=f"{year}年{label}目标 {goal:.0%}",
                line={"color": colour, "dash": ("dash", "dot")[i % 2], "width": 1},
                hovertemplate=f"{year}年{label}目标 {goal:.0%}<extra></extra>",
            )
        )
fig.update_layout(
    height=380,
    margin={"l": 10, "r": 10, "t": 30, "b": 10},
    yaxis_tickformat=".0%",
    xaxis={"dtick": 1, "title": None},
    legend={"orientation": "h", "y": -0.15},
)
st.plotly_chart(fig, width="stretch", key="plan_chart", config=ui.chart_config("目标测算"))

met = []
for year, (cov, struct) in sorted(goals.items()):
    for metric, label, goal in (
        ("coverage_rate", "参保率", cov),
        ("structure_ratio", "结构比", struct),
    ):
        hit = [int(y) for y, v in zip(frame["year"], frame[metric]) if goal_met(v, goal)]
        when = f"{hit[0]}年" if hit else f"至{int(frame['year'].max())}年仍未达到"
        ontime = "按期" if hit and hit[0] <= year else "逾期" if hit else ""
        met.append(
            f"{label}{year}年目标 {goal:.0%}：{when}{('（' + ontime + '）') if ontime else ''}"
        )
st.markdown("**达到目标的年份**　" + "；".join(met))

st.dataframe(
    pd.DataFrame(
        {
            "年份": frame["year"],
            "应参保人口": [whole(v) for v in frame["legal_population"]],
            "已参保": [whole(v) for v in frame["insured"]],
            "参保率": [ui.pct(v) for v in frame["coverage_rate"]],
            "缴费人员": [whole(v) for v in frame["contributors"]],
            "职工养老缴费": [whole(v) for v in frame["employee_contributors"]],
            "结构比": [ui.pct(v) for v in frame["structure_ratio"]],
            "当年新增参保": [whole(v) for v in frame["enroll"]],
            "当年提升": [whole(v) for v in frame["upgrade"]],
        }
    ),
    hide_index=True,
    width="stretch",
    key="plan_table",
)
st.caption(
    f"第一行为{int(frame['year'].iloc[0])}年实名库的实际数，其“新增参保”“提升”为已观察到的年均进度；"
    "以后各行为测算值。新增参保与提升超过可用人数的部分当年不计。"
)

# ---------------------------------------------------------------- the reverse
st.subheader("反推：每年需要多少")
later = [y for y in sorted(goals) if y > int(frame["year"].iloc[0])]
if not later:
    st.info("没有晚于实名库年份的目标年。")
else:
    target = st.selectbox(
        "目标年", later, index=len(later) - 1, format_func=lambda y: f"{y}年", key="plan_reach"
    )
    try:
        needed = cached_reach(ctx.db, version, int(target), street, group)
    except PlanError as exc:
        st.warning(session.chinese(exc) + "。")
    else:
        # The yearly N and M are those of the plan's first projected year (later
        # years carry out the same numbers unless fewer people are left).
        n, m = int(needed["enroll"].iloc[1]), int(needed["upgrade"].iloc[1])
        cov, struct = goals[target]
        st.markdown(
            f"{where}达到{target}年目标（参保率 {cov:.0%}、结构比 {struct:.0%}）每年需要"
            f"**新增参保 {n:,} 人、提升为职工养老 {m:,} 人**。"
        )

# ---------------------------------------------------------------- the assumptions
flows = cached_flows(ctx.db, version, street, group)
if not flows.observed:
    note = (
        "只有一个季度快照，未观察到人口流动：测算只计入上面填写的新增参保和提升，"
        "不计死亡、退休、断缴、续缴和年满16周岁的新增人口。"
    )
else:
    note = (
        f"测算假设（据 {cn_date(flows.dates[0])} 至 {cn_date(flows.dates[-1])} "
        f"各季度快照间的变化，折合每年）：年满16周岁新增应参保 {float(flows.age_in):.1f} 人；"
        f"缴费人员死亡率 {per_mille(flows.death['C'])}、退休率 {per_mille(flows.retire)}、"
        f"暂停缴费率 {per_mille(flows.lapse_suspended)}、终止参保率 "
        f"{per_mille(flows.lapse_terminated)}；暂停缴费人员续缴率（职工养老 "
        f"{per_mille(flows.resume_employee)}、城乡居民 {per_mille(flows.resume_residents)}）；"
        f"领取待遇、暂停缴费和未参保人员死亡率 {per_mille(flows.death['D'])}、"
        f"{per_mille(flows.death['S'])}、{per_mille(flows.death['U'])}。"
        f"已观察到的扩面进度：每年新增参保约 {float(flows.enroll):.0f} 人、提升约 "
        f"{float(flows.upgrade):.0f} 人（只作对照，不计入测算）。迁入迁出不计。"
    )
st.caption(note)
