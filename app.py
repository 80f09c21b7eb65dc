"""扩面增效: the dashboard's router.

Page config, the demo login (role and, for cadres, their grid), the registry date
picker, and ``st.navigation`` with the pages the role may see. The database is
``$KUOMIAN_DB`` or the project's ``data/kuomian.duckdb``.

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
from pages import _shared as ui

st.set_page_config(page_title="扩面增效", layout="wide")

PAGES = {
    "overview": st.Page(ROOT / "pages" / "overview.py", title="总览", default=True),
    "map": st.Page(ROOT / "pages" / "map.py", title="地图"),
    "visits": st.Page(ROOT / "pages" / "visits.py", title="走访清单"),
    "registry": st.Page(ROOT / "pages" / "registry.py", title="实名库"),
    "import": st.Page(ROOT / "pages" / "data_import.py", title="数据导入"),
}
# Personal-data rules: leaders see aggregates only; cadres their grid; the bureau all.
ROLE_PAGES = {
    "leader": ["overview", "map"],
    "cadre": ["overview", "map", "visits", "registry"],
    "bureau": ["overview", "map", "visits", "registry", "import"],
}

# One published registry version for the whole run: a build that finishes
# meanwhile shows at the next run, never halfway through this one.
reads.pin(ui.db_path())
status = reads.status(ui.db_path())

with st.sidebar:
    st.markdown("### 扩面增效")
    st.caption("基本养老保险扩面增效实名库")
    st.markdown("**演示登录**")
    role = st.radio(
        "角色", list(ui.ROLE_LABELS), format_func=ui.ROLE_LABELS.get, key=ui.K_ROLE, horizontal=True
    )
    st.text_input("姓名", value="演示用户", key=ui.K_USER)
    if status.built:
        grid = ui.areas(status.db, status.current_version)
        if role == "cadre" and not grid.empty:
            streets = dict(zip(grid["street_code"], grid["street_name"]))
            street = st.selectbox(
                "街道/镇",
                list(streets),
                format_func=lambda c: f"{streets[c] or c}",
                key=ui.K_STREET,
            )
            inside = grid[grid["street_code"] == street]
            communities = {ui.ALL: "（整个街道）"} | dict(
                zip(inside["community_code"], inside["community_name"])
            )
            st.selectbox(
                "社区/村",
                list(communities),
                format_func=lambda c: communities[c] or c,
                key=ui.K_COMMUNITY,
            )
        dates = [a for _, a in status.snapshots]
        st.divider()
        st.selectbox(
            "数据日期",
            dates,
            index=dates.index(status.current_as_of),
            format_func=lambda d: d.strftime("%Y年%m月%d日"),
            key=ui.K_AS_OF,
            help="按季度保存的实名库快照；默认为最新构建的日期",
        )


def not_built() -> None:
    """The page of every role but the bureau's before the first build."""
    st.info(
        "还没有构建实名库。请以「人社局」角色登录后在「数据导入」页上传数据，"
        "或在命令行运行：\n\n`kuomian import 批次文件夹 --db 数据库`\n\n"
        "`kuomian build --db 数据库`"
    )
    st.caption(f"数据库：{status.db}")


if status.built:
    ctx = ui.context()
    with st.sidebar:
        if role == "cadre":
            st.caption(f"您的网格：{ctx.grid_name}")
        if not ctx.is_current:
            st.caption("正在查看历史快照；录入走访结果请切换到最新日期。")
    pages = [PAGES[p] for p in ROLE_PAGES[role]]
elif role == "bureau":
    pages = [PAGES["import"]]
else:
    pages = [st.Page(not_built, title="实名库未构建", url_path="not_built")]

# Every run reaches st.navigation, so Streamlit never falls back to discovering
# the pages/ folder by itself (which would list pages the role may not see).
st.navigation(pages).run()
