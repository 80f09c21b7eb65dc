"""实名库: find a person of the viewer's grid by ID number or name, and read their
card: where they live, whether they count, their enrollments over time, the
evidence of each priority group, their target type, score and visits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import audit, reads
from analytics.access import mask_id
from analytics.exports import safe_csv_bytes
from analytics.visit_sheet import last_visit
from pages import _shared as ui
from pages._visit_form import visit_form

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
results = found[["name", "id_number", "age", "community_name", "target_label"]].rename(
    columns={
        "name": "姓名",
        "id_number": "身份证号",
        "age": "年龄",
        "community_name": "社区/村",
        "target_label": "扩面对象类型",
    }
)
# The query is not written to the log as typed: it may be an ID number or a name.
ui.csv_download(
    ctx,
    "下载查询结果（CSV）",
    results,
    f"实名库查询结果_{ctx.as_of:%Y%m%d}.csv",
    "registry_results_csv",
    f"实名库查询结果 {ctx.as_of} 查询={'身份证号' if any(ch.isdigit() for ch in query) else '姓名'}",
)
chosen = st.selectbox("选择人员", list(labels), format_func=labels.get, key="registry_person")
card = ui.person_card(ctx.db, ctx.version, ctx.scope, chosen)
if card is None:
    st.info("在您的网格内没有找到此人。")
    st.stop()

# A card opened is a person_view row, once per card and registry date (a rerun of
# the same card is not another view); the ID is masked in the log.
viewed = (chosen, ctx.version)
if st.session_state.get("registry_viewed") != viewed:
    audit.record(
        ctx.db,
        ctx.scope.user,
        ctx.scope.role,
        "person_view",
        f"人员卡片 {ctx.as_of}",
        rows=1,
        detail=mask_id(chosen, head=6),
    )
    st.session_state["registry_viewed"] = viewed

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


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _count(value: object) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


# Where to find the person and how to reach them (the phone masked on screen).
last = ui.cn_dates(last_visit(p["last_survey_date"], p["survey_result"]))
contact = {
    "居住地址": _text(p.get("residence_address")) or "—",
    "户籍地址": _text(p.get("hukou_address")) or "—",
    "联系电话": p["phone_masked"] or "—",
    "上次走访": f"{last}（共 {_count(p['visits'])} 次）" if last else "还没有走访",
}
st.markdown("　·　".join(f"**{k}**：{v}" for k, v in contact.items()))

t = card["target"]
if t is not None:
    st.markdown(
        f"**得分 {t['score']:.2f}**（全市第 {int(t['rank']):,} 名）　"
        f"**建议措施：{t['action']}**　— {t['action_rule']}"
    )
    st.markdown(f"推荐理由：{t['reasons']}")

st.markdown("#### 重点群体及证据")
if p["groups"]:
    st.markdown("、".join(reads.group_label(g) for g in p["groups"]))
    ev = card["evidence"][
        ["group_no", "group_label", "kind_label", "detail", "source_file", "row_number"]
    ]
    ev.columns = ["群体", "群体名称", "数据来源", "证据", "来源文件", "行号"]
    st.dataframe(ui.screen(ev), hide_index=True, width="stretch")
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
    st.dataframe(ui.screen(enr), hide_index=True, width="stretch")

st.markdown("#### 走访记录")
visits = card["visits"]
if visits.empty:
    st.caption("还没有走访记录。")
else:
    visits = visits.assign(survey_date=pd.to_datetime(visits["survey_date"]).dt.date)
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
    st.dataframe(ui.screen(visits), hide_index=True, width="stretch")

st.markdown("#### 录入走访结果")
if ctx.is_current:
    visit_form(ctx, {chosen: f"{p['name']}（{p['id_masked']}）"}, prefix="card_visit")
else:
    st.caption("正在查看历史快照；请在侧栏切换到最新数据日期后录入。")


def card_frame() -> pd.DataFrame:
    """The card as one table (项目, 内容), for its download."""
    items = [
        ("姓名", p["name"]),
        ("身份证号", chosen),
        ("年龄", int(p["age"])),
        ("性别", p["gender"]),
        ("街道/镇", p["street_name"] or p["street_code"]),
        ("社区/村", p["community_name"] or p["community_code"]),
        ("居住地址", _text(p.get("residence_address"))),
        ("户籍地址", _text(p.get("hukou_address"))),
        ("联系电话", _text(p.get("phone"))),
        ("上次走访", last),
        ("参保情况", status),
        ("扩面对象类型", p["target_label"] or "不是扩面对象"),
        ("情况", "；".join(facts)),
    ]
    if t is not None:
        items += [
            ("得分", f"{t['score']:.4f}"),
            ("全市排名", int(t["rank"])),
            ("建议措施", t["action"]),
            ("推荐理由", t["reasons"]),
        ]
    for r in card["evidence"].itertuples():
        items.append((f"重点群体 {r.group_no}. {r.group_label}", f"{r.kind_label}：{r.detail}"))
    for r in card["enrollments"].itertuples():
        items.append(
            (f"参保记录 {pd.Timestamp(r.as_of):%Y-%m-%d}", f"{r.scheme} {r.status} {r.region_code}")
        )
    for r in card["visits"].itertuples():
        phone = r.phone if isinstance(r.phone, str) else ""
        items.append((f"走访 {r.survey_date}", f"{r.result} {phone}".strip()))
    return pd.DataFrame(items, columns=["项目", "内容"]).astype(str)


st.divider()
ui.names_download(
    ctx,
    "下载人员卡片（CSV）",
    lambda: safe_csv_bytes(card_frame()),
    f"人员卡片_{p['name']}_{ctx.as_of:%Y%m%d}.csv",
    ui.CSV_MIME,
    "registry_card_csv",
    f"人员卡片 {ctx.as_of} {mask_id(chosen, head=6)}",
    1,
)
