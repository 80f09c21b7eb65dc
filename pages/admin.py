"""账号与审计 (the administrator only): the accounts — list, add with an initial
password, disable and enable, unlock, reset a password — and the audit log,
filtered by user, action and dates, downloadable as .xlsx (that download is
itself an ``export`` row). Every change of an account is a ``user_change`` row,
written by :mod:`analytics.accounts` with the administrator's name."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import streamlit as st

from analytics import accounts, audit, reads
from analytics.access import ROLES, Scope
from analytics.exports import safe_frame
from pages import _session as session
from pages import _shared as ui

me = ui.account()
st.title("账号与审计")
if me.role != "admin":
    st.warning("仅系统管理员账号可以管理账号和查看审计日志。")
    st.stop()

db = ui.db_path()
STATE_LABELS = {"active": "正常", "disabled": "已停用", "locked": "已锁定"}
ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "locked": "账号锁定",
    "logout": "退出登录",
    "person_view": "查看人员",
    "export": "导出",
    "visit": "录入走访",
    "import": "导入",
    "build": "构建",
    "user_change": "账号变更",
}


def done(message: str) -> None:
    st.session_state["admin_done"] = message
    st.rerun()


if message := st.session_state.pop("admin_done", None):
    st.success(message)

# ---------------------------------------------------------------- accounts
st.subheader("账号")
users = accounts.list_users(db)
now = accounts.clock()
st.dataframe(
    pd.DataFrame(
        [
            {
                "账号": a.name,
                "角色": ROLES.get(a.role, a.role),
                "网格": "、".join(a.scope) or "全市",
                "状态": STATE_LABELS.get(a.status(now), a.status(now)),
                "连续密码错误": a.failed_attempts,
                "须修改密码": "是" if a.must_change_password else "否",
                "创建时间": reads.cn_time(a.created_at),
                "最后变更": reads.cn_time(a.changed_at),
            }
            for a in users
        ],
        columns=[
            "账号",
            "角色",
            "网格",
            "状态",
            "连续密码错误",
            "须修改密码",
            "创建时间",
            "最后变更",
        ],
    ),
    hide_index=True,
    width="stretch",
    key="admin_accounts",
)

add, change = st.columns(2)
with add, st.form("admin_add", clear_on_submit=True):
    st.markdown("**新增账号**")
    name = st.text_input("账号名", key="admin_add_name")
    role = st.selectbox("角色", list(ROLES), format_func=ROLES.get, key="admin_add_role")
    scope_text = st.text_input(
        "网格编码（仅社区专干：9 位街道或 12 位社区编码，多个用空格或逗号分隔）",
        key="admin_add_scope",
    )
    password = st.text_input(
        "初始密码",
        type="password",
        key="admin_add_password",
        help=f"至少 {accounts.MIN_PASSWORD} 位，须同时包含字母和数字；本人首次登录时须修改。",
    )
    if st.form_submit_button("新增账号", type="primary"):
        codes = [c for c in scope_text.replace("，", ",").replace(",", " ").split() if c]
        try:
            account = accounts.add_user(
                db, name, role, password, codes, by=me.name, by_role=me.role
            )
        except accounts.AccountError as exc:
            st.error(session.chinese(exc) + "。")
        else:
            done(f"已新增账号 {account.name}（{ROLES[account.role]}），首次登录时须修改初始密码。")

with change:
    st.markdown("**管理账号**")
    names = [a.name for a in users]
    if not names:
        st.caption("还没有账号。")
    else:
        who = st.selectbox("选择账号", names, key="admin_who")
        target = next(a for a in users if a.name == who)
        b1, b2, b3 = st.columns(3)
        if target.state == "active":
            if b1.button("停用", key="admin_disable", disabled=who == me.name):
                accounts.set_state(db, who, "disabled", by=me.name, by_role=me.role)
                done(f"已停用账号 {who}；其已登录的会话在下一次操作时退出。")
        elif b1.button("启用", key="admin_enable"):
            accounts.set_state(db, who, "active", by=me.name, by_role=me.role)
            done(f"已启用账号 {who}。")
        if b2.button("解锁", key="admin_unlock", disabled=not target.failed_attempts):
            accounts.unlock(db, who, by=me.name, by_role=me.role)
            done(f"已解锁账号 {who}。")
        with st.form("admin_reset", clear_on_submit=True):
            new = st.text_input("重置密码为", type="password", key="admin_reset_password")
            if st.form_submit_button("重置密码"):
                try:
                    accounts.set_password(db, who, new, by=me.name, by_role=me.role)
                except accounts.AccountError as exc:
                    st.error(session.chinese(exc) + "。")
                else:
                    done(f"已重置账号 {who} 的密码，本人下次登录时须修改。")

# ---------------------------------------------------------------- audit log
st.subheader("审计日志")
ALL = ui.ALL
f1, f2, f3 = st.columns([1, 1, 1.4])
with f1:
    user = st.selectbox("用户", [ALL, *[a.name for a in users], audit.OPERATOR], key="audit_user")
with f2:
    action = st.selectbox(
        "操作",
        [ALL, *audit.ACTIONS],
        format_func=lambda a: a if a == ALL else ACTION_LABELS[a],
        key="audit_action",
    )
with f3:
    today = dt.date.today()
    period = st.date_input(
        "日期范围", value=(today - dt.timedelta(days=30), today), key="audit_dates"
    )
since, until = (tuple(period) + (None, None))[:2] if isinstance(period, tuple) else (period, None)
log_rows = reads.export_audit(
    db,
    Scope.admin(me.name),
    user=None if user == ALL else user,
    action=None if action == ALL else action,
    since=since,
    until=until,
)
st.caption(f"共 {len(log_rows):,} 条（最新在前）")
shown = log_rows.assign(action=log_rows["action"].map(lambda a: ACTION_LABELS.get(a, a)))
shown.columns = ["时间", "用户", "角色", "操作", "内容", "行数", "详情"]
# On screen the log's codes and English words are Chinese; the download keeps
# the log as written (its readers filter on the codes).
on_screen = shown.assign(
    角色=shown["角色"].map(lambda r: ROLES.get(r, reads.audit_text(r))),
    内容=shown["内容"].map(reads.audit_text),
    详情=shown["详情"].map(reads.audit_text),
)
st.dataframe(ui.screen(on_screen), hide_index=True, width="stretch", height=420, key="admin_audit")

filters = (
    f"用户={'全部' if user == ALL else user} 操作={'全部' if action == ALL else action} "
    f"日期={since or ''}至{until or ''}"
)


def audit_xlsx() -> bytes:
    buf = io.BytesIO()
    frame = safe_frame(shown.assign(时间=shown["时间"].astype(str)))
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        frame.to_excel(xl, sheet_name="审计日志", index=False)
    return buf.getvalue()


ui.download(
    "下载审计日志（Excel）",
    audit_xlsx,
    f"审计日志_{today:%Y%m%d}.xlsx",
    ui.XLSX_MIME,
    "audit_download",
    lambda: audit.record(db, me.name, me.role, "export", f"审计日志 {filters}", rows=len(shown)),
    empty=shown.empty,
)
