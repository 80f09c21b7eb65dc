"""实名库: find a person of the viewer's grid by ID number or name, and read their
card: where they live, whether they count, their enrollments over time, the
evidence of each priority group, their target type, score and visits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import reads
from pages import _shared as ui

ctx = ui.people_page("实名库查询", "输入完整身份证号、身份证号后4位以上，或姓名中的字。")

query = st.text_input("身份证号或姓名", key="registry_query", placeholder="如 5301… 或 张")
if not query.strip():
    st.stop()
found = ui.search_persons(ctx.db, ctx.version, ctx.scope, query.strip())
if found.empty:
    st.info("在您的网格内没有找到此人。")
    st.stop()

labels = {
    r.id_number: f"{r.name}（{r.id_masked}，{r.community_name or r.community_code}）"
    + (f" · {r.target_label}" if isinstance(r.target_label, str) else "")
    for r in found.itertuples()
}
st.caption(f"找到 {len(found)} 人" + ("（仅显示前50人）" if len(found) >= 50 else ""))
chosen = st.selectbox("选择人员", list(labels), format_func=labels.get, key="registry_person")
card = ui.person_card(ctx.db, ctx.version, ctx.scope, chosen)
if card is None:
    st.info("在您的网格内没有找到此人。")
    st.stop()

p = card["person"]
st.subheader(f"{p['name']}　{p['id_masked']}")
a, b, c, d = st.columns(4)
a.metric("年龄 / 性别", f"{int(p['age'])} 岁 / {p['gender']}")
b.metric(
    "所在地",
    p["community_name"] or p["community_code"],
    p["street_name"] or None,
    delta_color="off",
    delta_arrow="off",
)
if p["legal"]:
    status = "已参保" if p["insured"] else "未参保"
else:
    status = "不计入应参保人口"
c.metric("参保情况", status)
d.metric("扩面对象类型", p["target_label"] or "不是扩面对象")

facts = []
if p["exclusion_labels"]:
    facts.append("不计入应参保人口的原因：" + "、".join(p["exclusion_labels"]))
facts.append(
    "来源："
    + "、".join(x for x, flag in (("户籍", p["in_hukou"]), ("居住证", p["in_residence"])) if flag)
)
if p["contributing"]:
    facts.append(
        "正在缴费：" + ("职工养老保险" if p["employee_contributor"] else "城乡居民养老保险")
    )
if p["suspended"]:
    facts.append("有暂停缴费记录")
if p["drawing"]:
    facts.append("正在领取待遇")
if p["insured_elsewhere"]:
    facts.append("在外地参保")
if p["duplicate_enrollment"]:
    facts.append("重复参保（待清理）")
st.markdown("　·　".join(facts))

t = card["target"]
if t is not None:
    st.markdown(
        f"**得分 {t['score']:.2f}**（全市第 {int(t['rank']):,} 名）　"
        f"**建议措施：{t['action']}**　— {t['action_rule']}"
    )
    st.markdown(f"推荐理由：{t['reasons']}")

st.markdown("#### 重点群体及证据")
if p["groups"]:
    st.markdown("、".join(f"{g}. {reads.GROUPS[g]}" for g in p["groups"]))
    ev = card["evidence"][
        ["group_no", "group_label", "kind_label", "detail", "source_file", "row_number"]
    ]
    ev.columns = ["群体", "群体名称", "数据来源", "证据", "来源文件", "行号"]
    st.dataframe(ev, hide_index=True, width="stretch")
else:
    st.caption("未发现属于八类重点群体的证据。")

st.markdown("#### 参保记录（各数据日期）")
enr = card["enrollments"]
if enr.empty:
    st.caption("各期参保数据中都没有此人的参保记录。")
else:
    enr = enr.assign(as_of=pd.to_datetime(enr["as_of"]).dt.date)
    enr = enr[
        [
            "as_of",
            "scheme",
            "status",
            "region_code",
            "start_date",
            "grade",
            "base",
            "employer_uscc",
            "source_file",
            "row_number",
        ]
    ]
    enr.columns = [
        "数据日期",
        "险种",
        "参保状态",
        "参保地",
        "参保日期",
        "缴费档次",
        "缴费基数",
        "单位信用代码",
        "来源文件",
        "行号",
    ]
    st.dataframe(enr, hide_index=True, width="stretch")

st.markdown("#### 走访记录")
visits = card["visits"]
if visits.empty:
    st.caption("还没有走访记录。")
else:
    visits = visits[
        [
            "survey_date",
            "result",
            "willingness",
            "reason",
            "ability_to_pay",
            "phone_masked",
            "surveyor",
            "source_file",
        ]
    ]
    visits.columns = [
        "走访日期",
        "调查结果",
        "参保意愿",
        "未参保原因",
        "缴费能力",
        "联系电话",
        "调查人",
        "来源",
    ]
    st.dataframe(visits, hide_index=True, width="stretch")
