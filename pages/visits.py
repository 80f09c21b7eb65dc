"""走访清单: whom to visit in the viewer's grid, ranked, with the reasons and the
suggested action; a printable workbook (each download logged); and a form to
record a visit's result, which updates the registry at once."""

from __future__ import annotations

import streamlit as st

from analytics import reads
from pages import _shared as ui
from pages._visit_form import visit_form

ctx = ui.people_page("走访清单", "身份证号与电话在屏幕上部分隐藏。")

# ---------------------------------------------------------------- filters (inside the scope)
grid = ui.areas(ctx.db, ctx.version)
grid = grid[[ctx.scope.covers(c) for c in grid["community_code"]]]
street_names = dict(zip(grid["street_code"], grid["street_name"]))
community_names = dict(zip(grid["community_code"], grid["community_name"]))

f1, f2, f3, f4, f5 = st.columns([1.2, 1.2, 1, 1.4, 1])
with f1:
    street = st.selectbox(
        "街道/镇",
        [ui.ALL] + sorted(street_names),
        key="visits_street",
        format_func=lambda c: c if c == ui.ALL else street_names[c] or c,
    )
with f2:
    in_street = [c for c in sorted(community_names) if street == ui.ALL or c.startswith(street)]
    community = st.selectbox(
        "社区/村",
        [ui.ALL] + in_street,
        key="visits_community",
        format_func=lambda c: c if c == ui.ALL else community_names[c] or c,
    )
with f3:
    ttype = st.selectbox(
        "对象类型",
        [ui.ALL] + list(reads.TARGET_TYPES),
        key="visits_type",
        format_func=lambda t: reads.TARGET_TYPES.get(t, t),
    )
with f4:
    group = st.selectbox(
        "重点群体",
        [ui.ALL] + list(reads.GROUPS),
        key="visits_group",
        format_func=lambda g: g if g == ui.ALL else reads.group_label(g),
    )
with f5:
    min_score = st.number_input(
        "最低得分", min_value=0.0, max_value=1.0, value=0.0, step=0.05, key="visits_min_score"
    )

# The viewer's whole list is read once per registry version (cached); filters
# apply in memory, so changing one needs no database read.
rows = reads.filter_targets(
    ui.targets(ctx.db, ctx.version, ctx.scope),
    street=None if street == ui.ALL else street,
    community=None if community == ui.ALL else community,
    target_type=None if ttype == ui.ALL else ttype,
    group=None if group == ui.ALL else int(group),
    min_score=float(min_score),
)

counts = rows["target_label"].value_counts()
st.markdown(
    f"**共 {len(rows):,} 人**（"
    + "，".join(f"{label} {int(counts.get(label, 0)):,}" for label in reads.TARGET_TYPES.values())
    + "）"
)

screen = ui.first_rows(rows, "人")[
    [
        "grid_rank",
        "rank",
        "name",
        "id_masked",
        "gender",
        "age",
        "community_name",
        "address",
        "target_label",
        "groups_text",
        "score",
        "reasons",
        "action",
        "survey_result",
        "last_survey_date",
        "phone_masked",
    ]
]
st.dataframe(
    ui.screen(screen.assign(groups_text=screen["groups_text"].map(reads.groups_label))),
    hide_index=True,
    width="stretch",
    height=min(38 * (len(screen) + 1), 600),
    column_config={
        "grid_rank": st.column_config.NumberColumn("序号", width="small"),
        "rank": st.column_config.NumberColumn("全市排名", width="small"),
        "name": "姓名",
        "id_masked": "身份证号",
        "gender": "性别",
        "age": "年龄",
        "community_name": "社区/村",
        "address": st.column_config.TextColumn("地址", help="居住证地址，没有时为户籍地址"),
        "target_label": "对象类型",
        "groups_text": "重点群体",
        "score": st.column_config.ProgressColumn(
            "得分", min_value=0.0, max_value=1.0, format="%.2f"
        ),
        "reasons": st.column_config.TextColumn("推荐理由", width="large"),
        "action": "建议措施",
        "survey_result": "上次走访结果",
        "last_survey_date": "上次走访",
        "phone_masked": "联系电话",
    },
)

# ---------------------------------------------------------------- printable list
place = (
    community_names.get(community)
    if community != ui.ALL
    else street_names.get(street)
    if street != ui.ALL
    else ctx.grid_name
) or ctx.grid_name
what = (
    f"走访清单 {place} {ctx.as_of} 类型={reads.TARGET_TYPES.get(ttype, '全部')} "
    f"群体={group} 最低得分={min_score}"
)


# The work list with full ID numbers and phones (the cadre's list, as
# `kuomian export targets --user` gives it); the printable sheet masks them.
work_list = rows[
    [
        "grid_rank",
        "rank",
        "name",
        "id_number",
        "gender",
        "age",
        "street_name",
        "community_name",
        "address",
        "target_label",
        "groups_text",
        "score",
        "reasons",
        "action",
        "survey_result",
        "last_survey_date",
        "phone",
    ]
].rename(
    columns={
        "grid_rank": "序号",
        "rank": "全市排名",
        "name": "姓名",
        "id_number": "身份证号",
        "gender": "性别",
        "age": "年龄",
        "street_name": "街道/镇",
        "community_name": "社区/村",
        "address": "地址",
        "target_label": "对象类型",
        "groups_text": "重点群体",
        "score": "得分",
        "reasons": "推荐理由",
        "action": "建议措施",
        "survey_result": "上次走访结果",
        "last_survey_date": "上次走访",
        "phone": "联系电话",
    }
)
left, right = st.columns(2)
with left:
    ui.names_download(
        ctx,
        "下载打印版走访清单（Excel，A4横向）",
        # Built on click, not on every run: the sheet of a whole street takes seconds.
        lambda: ui.visit_sheet(rows, place, ctx.as_of, printed_by=ctx.scope.user),
        f"走访清单_{place}_{ctx.as_of:%Y%m%d}.xlsx",
        ui.XLSX_MIME,
        "visits_download",
        f"{what} 格式=xlsx",
        len(rows),
    )
with right:
    ui.csv_download(
        ctx,
        "下载走访清单数据（CSV，含完整身份证号）",
        work_list,
        f"走访清单_{place}_{ctx.as_of:%Y%m%d}.csv",
        "visits_csv",
        f"{what} 格式=csv",
    )

# ---------------------------------------------------------------- record a visit
st.subheader("录入走访结果")
if not ctx.is_current:
    st.info("正在查看历史快照；请在侧栏切换到最新数据日期后录入。")
    st.stop()
if rows.empty:
    st.caption("当前筛选下没有可录入的对象。")
    st.stop()

FORM_CHOICES = 1000  # a longer selectbox is unusable; filters narrow the list
labels = {
    r.id_number: f"{r.grid_rank}. {r.name}（{r.id_masked}，{r.community_name}，{r.target_label}）"
    for r in rows.head(FORM_CHOICES).itertuples()
}
if len(rows) > FORM_CHOICES:
    st.caption(f"下拉列表只列出前 {FORM_CHOICES} 人，其他人请先用上方筛选缩小范围。")
visit_form(ctx, labels, prefix="visit")
