"""扩面增效: the dashboard's router.

Page config, the login (pages/_session.py: an account's name and password; its
role and scope come from the account, never from the screen), the forced change
of an initial password, the idle timeout, the registry date picker, and
``st.navigation`` with the pages the account's role may see. The database is
``$KUOMIAN_DB`` or the project's ``data/kuomian.duckdb``; the accounts and the
audit log are in the app store beside it.

Connections: every read function opens a short-lived read-only DuckDB
connection instead of one cached connection per process (``st.cache_resource``).
That costs a few milliseconds a read, but a DuckDB file held open by the server
would keep the command line's import and build from writing it; results are
cached on the registry version instead (pages/_shared.py). The app's own writes
(visits, the audit log) go to the SQLite app store beside the database.

    streamlit run app.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # `streamlit run` from another folder, or AppTest
    sys.path.insert(0, str(ROOT))

from analytics import reads
from pages import _session as session
from pages import _shared as ui

st.set_page_config(page_title="扩面增效", layout="wide")

PAGES = {
    "overview": st.Page(ROOT / "pages" / "overview.py", title="总览", default=True),
    "map": st.Page(ROOT / "pages" / "map.py", title="地图"),
    "visits": st.Page(ROOT / "pages" / "visits.py", title="走访清单"),
    "registry": st.Page(ROOT / "pages" / "registry.py", title="实名库"),
    "assessment": st.Page(ROOT / "pages" / "assessment.py", title="考核与通报"),
    "plan": st.Page(ROOT / "pages" / "plan.py", title="目标测算"),
    "lists": st.Page(ROOT / "pages" / "lists.py", title="名册"),
    "import": st.Page(ROOT / "pages" / "data_import.py", title="数据导入"),
    "admin": st.Page(ROOT / "pages" / "admin.py", title="账号与审计"),
}
# Personal-data rules: leaders see aggregates only; cadres their grid; the bureau
# all but the accounts; the administrator the accounts and the audit log only
# (等保 2.0 三员分立: keeping the system is no reason to read a person's data).
# The assessment is aggregates (every street, no names): cadres see it too.
ROLE_PAGES = {
    "leader": ["overview", "map", "assessment", "plan"],
    "cadre": ["overview", "map", "assessment", "visits", "lists", "registry"],
    "bureau": ["overview", "map", "assessment", "plan", "visits", "lists", "registry", "import"],
    "admin": ["admin"],
}
# Before the first build: what each role can still do.
UNBUILT_PAGES = {"bureau": ["import"], "admin": ["admin"]}


def only(page, title: str, url_path: str) -> None:
    """Run one page with the navigation hidden (login, password change): every run
    reaches st.navigation, so Streamlit never lists the pages/ folder by itself."""
    nav = st.navigation([st.Page(page, title=title, url_path=url_path)], position="hidden")
    ui.run_safely(nav.run)
    st.stop()


db = ui.db_path()
account = session.current(db)
if account is None:
    only(session.login_page, "登录", "login")
if account.must_change_password:
    only(session.change_password_page, "修改密码", "password")

# One published registry version for the whole run: a build that finishes
# meanwhile shows at the next run, never halfway through this one.
reads.pin(db)
status = reads.status(db)

with st.sidebar:
    st.markdown("### 扩面增效")
    st.caption("基本养老保险扩面增效实名库")
    st.markdown(f"**{account.name}**（{ui.ROLE_LABELS[account.role]}）")
    if notice := st.session_state.pop(session.K_NOTICE, None):
        st.success(notice)
    if status.built:
        grid = ui.areas(status.db, status.current_version)
        names = dict(zip(grid["street_code"], grid["street_name"]))
        names.update(zip(grid["community_code"], grid["community_name"]))
        choices = ui.cadre_choices(account)
        if len(choices) > 1:  # a cadre narrows the screen to one of their own codes
            st.selectbox(
                "我的网格",
                [ui.ALL, *choices],
                format_func=lambda c: "（全部网格）" if c == ui.ALL else ui.area_name(c, names),
                key=ui.K_AREA,
            )
        dates = [a for _, a in status.snapshots]
        if account.role != "admin":
            st.selectbox(
                "数据日期",
                dates,
                index=dates.index(status.current_as_of),
                format_func=ui.cn_date,
                key=ui.K_AS_OF,
                help="按季度保存的实名库快照；默认为最新构建的日期",
            )
    # A callback: it runs before the next run, whichever script that run is.
    st.button(
        "退出登录",
        key="logout",
        on_click=session.end,
        args=(db, account.name, account.role, "logout"),
    )
    session.watch_idle()


def not_built() -> None:
    """The page of the leader and the cadre before the first build."""
    st.info(
        "还没有构建实名库。请由人社局账号在「数据导入」页上传数据，"
        "或在命令行运行：\n\n`kuomian import 批次文件夹 --db 数据库`\n\n"
        "`kuomian build --db 数据库`"
    )
    st.caption(f"数据库：{status.db}")


if status.built:
    ctx = ui.context()
    with st.sidebar:
        if account.role == "cadre":
            st.caption(f"您的网格：{ctx.grid_name}")
        if not ctx.is_current and account.role != "admin":
            st.caption("正在查看历史快照；录入走访结果请切换到最新日期。")
    pages = [PAGES[p] for p in ROLE_PAGES[account.role]]
elif account.role in UNBUILT_PAGES:
    pages = [PAGES[p] for p in UNBUILT_PAGES[account.role]]
else:
    pages = [st.Page(not_built, title="实名库未构建", url_path="not_built")]

# Every run reaches st.navigation, so Streamlit never falls back to discovering
# the pages/ folder by itself (which would list pages the role may not see).
ui.run_safely(st.navigation(pages).run)
