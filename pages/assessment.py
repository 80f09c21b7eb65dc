"""考核与通报: each street's yearly tasks and how far it got (the ``assessment``
export), the street ranking of the quarterly 通报 with the change since last
quarter, the bureau's editing of the tasks (任务分解), and the assessment as a
workbook (each download logged).

Aggregates only: no person is named, so every role that has the page sees all
streets. The numbers are :func:`analytics.quarter.assessment`'s and
:func:`analytics.quarter.street_ranking`'s, cached on the published version and
on the newest task edit, so an edit shows at the next run.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import streamlit as st

from analytics import audit, reads
from analytics.access import AccessDenied
from analytics.quarter import AssessmentError, assessment, street_ranking, tasks
from pages import _session as session
from pages import _shared as ui

PACE = {"on_track": "达到序时进度", "behind": "落后于序时进度"}
SOURCE = {"app": "本系统调整", "imported": "任务文件", "default": "默认规则"}
K_SAVED = "assessment_task_saved"


def cn_date(d: object) -> str:
    """A date as 2025年9月30日 (no leading zeros); ``—`` when there is none."""
    if d is None or (not isinstance(d, dt.date) and pd.isna(d)):
        return "—"
    d = pd.Timestamp(d).date()
    return f"{d.year}年{d.month}月{d.day}日"


@st.cache_data(show_spinner="正在计算考核结果……", max_entries=32)
def assessed(db: str, published: int | None, edits: int, year: int, as_of: dt.date):
    return assessment(db, year, as_of)


@st.cache_data(show_spinner="正在计算街道排名……", max_entries=32)
def ranked(db: str, published: int | None, edits: int, year: int, as_of: dt.date):
    return street_ranking(db, year, as_of)


@st.cache_data(show_spinner=False, max_entries=32)
def edited(db: str, edits: int, year: int) -> pd.DataFrame:
    return tasks.edited_tasks(db, year)


ctx = ui.require_context()
st.title("考核与通报")

# ---------------------------------------------------------------- year and date
goal_years = sorted(ui.goals(ctx.db, ctx.version))
dates = sorted(a for _, a in ctx.status.snapshots)
years = sorted({d.year for d in dates if d.year <= goal_years[-1]}, reverse=True)
if not years:
    st.info("没有可考核的年度：已构建的数据日期都晚于最后的目标年。")
    st.stop()
c1, c2, _ = st.columns([1, 1, 2])
with c1:
    year = st.selectbox("考核年度", years, format_func=lambda y: f"{y}年", key="assessment_year")
in_year = sorted((d for d in dates if d.year == year), reverse=True)
with c2:
    as_of = st.selectbox("考核日期", in_year, format_func=cn_date, key="assessment_as_of")

published = reads.in_use(ctx.db)
stamp = tasks.edits_stamp(ctx.db)
try:
    frame = assessed(ctx.db, published, stamp, year, as_of)
    ranking = ranked(ctx.db, published, stamp, year, as_of)
except AssessmentError as exc:
    st.error(session.chinese(exc) + "。")
    st.stop()
if frame.empty:
    st.info("所选年度和日期没有街道数据。")
    st.stop()

first = frame.iloc[0]
st.caption(
    f"{year}年度考核　基期：{cn_date(first['baseline_as_of'])}　考核日期：{cn_date(first['as_of'])}"
    f"　对照目标年：{int(first['goal_year'])}年　全年时间进度 {ui.pct(first['year_elapsed'], 1)}"
)

# ---------------------------------------------------------------- the assessment
st.subheader("各街道任务完成情况")
table = pd.DataFrame(
    {
        "街道/镇": frame["name"].fillna(frame["street_code"]),
        "街道编码": frame["street_code"],
        "扩面任务": frame["coverage_task"],
        "任务来源": frame["coverage_task_source"].map(SOURCE),
        "已完成扩面": frame["coverage_done"],
        "扩面完成率": [ui.pct(v, 1) for v in frame["coverage_completion"]],
        "扩面进度": frame["coverage_pace"].map(PACE),
        "预计达标日期（参保率）": [cn_date(d) for d in frame["coverage_goal_date"]],
        "提升结构比任务": frame["structure_task"],
        "结构比任务来源": frame["structure_task_source"].map(SOURCE),
        "已完成提升": frame["structure_done"],
        "提升完成率": [ui.pct(v, 1) for v in frame["structure_completion"]],
        "提升进度": frame["structure_pace"].map(PACE),
        "预计达标日期（结构比）": [cn_date(d) for d in frame["structure_goal_date"]],
    }
)
st.dataframe(table, hide_index=True, width="stretch", key="assessment_table")
st.caption(
    "任务：人社局在本系统调整的任务优先，其次为导入的任务分解文件，否则按默认规则"
    f"（基期缺口 ÷ 距{int(first['goal_year'])}年剩余年数，向上取整）。完成数 = 基期缺口 − "
    "考核日期缺口（负数表示倒退）；任务为 0 时完成率为“—”。序时进度：完成率不低于全年时间进度。"
    "预计达标日期按基期以来的日均进度推算。"
)

# ---------------------------------------------------------------- the ranking
st.subheader("街道排名与通报")
previous = ranking["previous_as_of"].dropna()
rank_table = pd.DataFrame(
    {
        "排名": ranking["rank"],
        "街道/镇": ranking["name"].fillna(ranking["street_code"]),
        "扩面完成率": [ui.pct(v, 1) for v in ranking["coverage_completion"]],
        "提升完成率": [ui.pct(v, 1) for v in ranking["structure_completion"]],
        "综合得分": [f"{v:.3f}" for v in ranking["score"]],
        "通报": ranking["mention"].replace("", "—"),
        "上季度排名": ["—" if pd.isna(r) else str(int(r)) for r in ranking["previous_rank"]],
        "排名变化": [
            "—"
            if pd.isna(c)
            else f"上升 {int(c)} 位"
            if c > 0
            else f"下降 {-int(c)} 位"
            if c < 0
            else "持平"
            for c in ranking["rank_change"]
        ],
    }
)
st.dataframe(rank_table, hide_index=True, width="stretch", key="ranking_table")
praised = [n for n, m in zip(rank_table["街道/镇"], ranking["mention"]) if m == "表扬"]
criticised = [n for n, m in zip(rank_table["街道/镇"], ranking["mention"]) if m == "通报"]
st.markdown(
    f"**通报表扬**：{'、'.join(praised) or '无'}　　**通报批评**：{'、'.join(criticised) or '无'}"
)
st.caption(
    "综合得分：扩面与提升两项完成率的平均（每项最高按 150% 计；任务为 0 且未倒退按 100% 计）。"
    + (
        f"上季度：{cn_date(previous.iloc[0])}。"
        if len(previous)
        else "上季度没有导入数据，无排名变化。"
    )
)

# ---------------------------------------------------------------- the workbook
SHEET_ASSESSMENT = {
    "street_code": "街道编码",
    "name": "街道/镇",
    "year": "考核年度",
    "goal_year": "目标年",
    "baseline_as_of": "基期",
    "as_of": "考核日期",
    "coverage_task": "扩面任务",
    "coverage_done": "已完成扩面",
    "coverage_completion": "扩面完成率",
    "structure_task": "提升结构比任务",
    "structure_done": "已完成提升",
    "structure_completion": "提升完成率",
    "coverage_task_source": "扩面任务来源",
    "structure_task_source": "提升任务来源",
    "coverage_gap_baseline": "基期参保缺口",
    "coverage_gap_as_of": "考核日参保缺口",
    "structure_gap_baseline": "基期结构比缺口",
    "structure_gap_as_of": "考核日结构比缺口",
    "year_elapsed": "时间进度",
    "coverage_pace": "扩面进度",
    "structure_pace": "提升进度",
    "coverage_goal_date": "预计达标日期（参保率）",
    "structure_goal_date": "预计达标日期（结构比）",
}


def workbook() -> bytes:
    """The assessment and the ranking as a workbook: exact values (rates as
    fractions formatted as percentages), every text cell a string, never a formula."""
    sheet = frame[list(SHEET_ASSESSMENT)].copy()
    for c in ("coverage_task_source", "structure_task_source"):
        sheet[c] = sheet[c].map(SOURCE)
    for c in ("coverage_pace", "structure_pace"):
        sheet[c] = sheet[c].map(PACE)
    for c in ("baseline_as_of", "as_of", "coverage_goal_date", "structure_goal_date"):
        sheet[c] = [cn_date(d) if d is not None and not pd.isna(d) else None for d in sheet[c]]
    sheet = sheet.rename(columns=SHEET_ASSESSMENT)
    ranks = ranking.rename(
        columns={
            "street_code": "街道编码",
            "name": "街道/镇",
            "year": "考核年度",
            "as_of": "考核日期",
            "coverage_completion": "扩面完成率",
            "structure_completion": "提升完成率",
            "coverage_score": "扩面得分",
            "structure_score": "提升得分",
            "score": "综合得分",
            "rank": "排名",
            "mention": "通报",
            "previous_as_of": "上季度日期",
            "previous_rank": "上季度排名",
            "rank_change": "排名变化",
        }
    )
    for c in ("考核日期", "上季度日期"):
        ranks[c] = [cn_date(d) if d is not None and not pd.isna(d) else None for d in ranks[c]]
    buf = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": options}) as xw:
        for name, part in (("考核", sheet), ("排名", ranks)):
            part.to_excel(xw, sheet_name=name, index=False)
            ws, book = xw.sheets[name], xw.book
            percent = book.add_format({"num_format": "0.00%"})
            for i, col in enumerate(part.columns):
                ws.set_column(i, i, max(10, 2 * len(str(col))), percent if "率" in col else None)
            ws.freeze_panes(1, 0)
    return buf.getvalue()


what = f"考核 {year}年 考核日期={as_of} 格式=xlsx"
scope, db = ctx.scope, ctx.db
ui.download(
    "下载考核与排名（Excel）",
    workbook,
    f"考核_{year}_{as_of:%Y%m%d}.xlsx",
    ui.XLSX_MIME,
    "assessment_download",
    # Aggregates: open to every role, and still logged as an export.
    lambda: audit.record(
        db, scope.user, scope.role, "export", what, rows=len(frame), detail=scope.describe()
    ),
)

# ---------------------------------------------------------------- the bureau's tasks
if ctx.scope.role != "bureau":
    st.stop()

st.subheader("调整任务分解")
if saved := st.session_state.pop(K_SAVED, None):
    st.success(saved)
st.caption(
    "由人社局调整各街道的年度任务，保存后立即生效，不产生新的数据日期；"
    "留空表示不在本系统调整（采用导入的任务分解文件，没有则按默认规则）。每次调整都记入审计日志。"
)
edits = edited(ctx.db, stamp, year).set_index("street_code")
names = dict(zip(frame["street_code"], frame["name"].fillna(frame["street_code"])))
street = st.selectbox(
    "街道/镇", list(names), format_func=lambda c: names[c], key="assessment_task_street"
)
current = frame.set_index("street_code").loc[street]


def typed(column: str) -> str:
    value = edits[column].get(street) if street in edits.index else None
    return "" if value is None or pd.isna(value) else str(int(value))


with st.form(f"task_form_{street}_{year}"):
    a, b = st.columns(2)
    with a:
        coverage = st.text_input(
            f"{year}年扩面任务（人）",
            value=typed("coverage_task"),
            placeholder=f"现为 {int(current['coverage_task'])}（"
            f"{SOURCE[current['coverage_task_source']]}）",
            key=f"task_coverage_{street}_{year}",
        )
    with b:
        structure = st.text_input(
            f"{year}年提升结构比任务（人）",
            value=typed("structure_task"),
            placeholder=f"现为 {int(current['structure_task'])}（"
            f"{SOURCE[current['structure_task_source']]}）",
            key=f"task_structure_{street}_{year}",
        )
    submitted = st.form_submit_button("保存任务", type="primary")

if submitted:
    try:
        tasks.edit_task(ctx.db, ctx.scope, street, year, coverage, structure)
    except (tasks.TaskError, AccessDenied) as exc:
        st.error(session.chinese(exc) + "。")
    else:
        st.session_state[K_SAVED] = f"已保存{names[street]}{year}年的任务。"
        st.rerun()

history = tasks.task_history(ctx.db, year)
if not history.empty:
    with st.expander(f"{year}年任务调整记录（{len(history)} 次）"):
        st.dataframe(
            pd.DataFrame(
                {
                    "街道/镇": [names.get(c, c) for c in history["street_code"]],
                    "扩面任务": history["coverage_task"],
                    "提升结构比任务": history["structure_task"],
                    "调整人": history["edited_by"],
                    "调整时间": history["edited_at"],
                }
            ),
            hide_index=True,
            width="stretch",
            key="task_history",
        )
