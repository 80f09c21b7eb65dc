"""What every page shares: the viewer's context (database, registry version, scope)
derived from the sidebar choices, cached read functions, and number formats.

The read functions are those of :mod:`analytics.reads` wrapped in ``st.cache_data``;
their arguments (database path, registry version, scope, filters) are the cache key,
so a new build (a new version) is read afresh without clearing anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analytics import reads
from analytics.access import Scope
from analytics.store import default_db
from analytics.visit_sheet import visit_sheet as _visit_sheet

ROLE_LABELS = {"leader": "领导", "bureau": "人社局", "cadre": "社区专干"}
ALL = "（全部）"

# Session-state keys of the sidebar choices (the only state the app keeps).
K_ROLE, K_STREET, K_COMMUNITY, K_USER, K_AS_OF = (
    "login_role",
    "login_street",
    "login_community",
    "login_user",
    "as_of",
)


@dataclass(frozen=True)
class Ctx:
    db: str
    status: reads.Status
    version: int
    as_of: dt.date
    scope: Scope
    grid_name: str

    @property
    def is_current(self) -> bool:
        return self.version == self.status.current_version


def db_path() -> str:
    return str(default_db())


# Cached reads. A leading underscore would leave an argument out of the key;
# every argument here is part of it.
kpi = st.cache_data(show_spinner=False, max_entries=256)(reads.kpi)
areas = st.cache_data(show_spinner=False, max_entries=32)(reads.areas)
targets = st.cache_data(show_spinner=False, max_entries=128)(reads.targets)
search_persons = st.cache_data(show_spinner=False, max_entries=128)(reads.search_persons)
person_card = st.cache_data(show_spinner=False, max_entries=256)(reads.person_card)
visit_sheet = st.cache_data(show_spinner=False, max_entries=16)(_visit_sheet)


@st.cache_data(show_spinner=False, max_entries=32)
def kpi_trend(
    db: str, snapshots: tuple, level: str, codes: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """The trend over all snapshots (``snapshots`` is the cache key: a build changes it)."""
    return reads.kpi_trend(db, level, list(codes) if codes else None)


@st.cache_data(show_spinner=False, max_entries=32)
def boundaries(db: str, version: int, level: str, parent: str | None = None) -> pd.DataFrame:
    return reads.boundaries(db, level, parent)


@st.cache_data(show_spinner=False, max_entries=16)
def quality(db: str, version: int | None, scope: Scope) -> pd.DataFrame:
    return reads.quality(db, scope)


@st.cache_data(show_spinner=False, max_entries=16)
def problems(db: str, version: int | None, scope: Scope, as_of: dt.date | None) -> pd.DataFrame:
    return reads.problems(db, scope, as_of)


@st.cache_data(show_spinner=False, max_entries=16)
def import_log(db: str, version: int | None, scope: Scope) -> pd.DataFrame:
    return reads.import_log(db, scope)


@st.cache_data(show_spinner=False, max_entries=32)
def goals(db: str, version: int) -> dict[int, tuple[float, float]]:
    """year -> (coverage goal, structure goal) stored with the registry version, so
    colours and gaps always use the same goals."""
    return reads.goals(db, version)


def pct(v: object, digits: int = 2) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.{digits}%}"


def people(v: object) -> str:
    return "—" if v is None or pd.isna(v) else f"{int(v):,} 人"


def build_scope(status: reads.Status, version: int) -> tuple[Scope, str]:
    """The viewer's scope from the sidebar choices, and the name of their grid."""
    role = st.session_state.get(K_ROLE, "leader")
    user = st.session_state.get(K_USER) or "演示用户"
    if role != "cadre":
        return Scope(role, None, user), status.region_name or "全市"
    grid = areas(status.db, version)
    if grid.empty:
        st.error("实名库中没有任何社区/村，无法以社区专干身份查看。")
        st.stop()
    street = st.session_state.get(K_STREET)
    community = st.session_state.get(K_COMMUNITY)
    if street not in set(grid["street_code"]):
        street = grid["street_code"].iloc[0]
    names = dict(zip(grid["street_code"], grid["street_name"]))
    names.update(zip(grid["community_code"], grid["community_name"]))
    if community and community != ALL and str(community).startswith(street):
        return Scope.cadre(
            [community], user
        ), f"{names.get(street, street)}{names.get(community, '')}"
    return Scope.cadre([street], user), names.get(street, street)


def context() -> Ctx | None:
    """The context of this run, or None when no registry has been built yet."""
    db = db_path()
    status = reads.status(db)
    if not status.built:
        return None
    dates = {a: v for v, a in status.snapshots}
    chosen = st.session_state.get(K_AS_OF)
    as_of = chosen if chosen in dates else status.current_as_of
    version = dates[as_of]
    scope, grid_name = build_scope(status, version)
    return Ctx(db, status, version, as_of, scope, grid_name)


def require_context() -> Ctx:
    """The context, or a notice and a stop when there is no registry."""
    ctx = context()
    if ctx is None:
        st.info(
            "还没有实名库。请由人社局在「数据导入」页上传数据，或在命令行运行：\n\n"
            "`kuomian import 批次文件夹 --db 数据库` 然后 `kuomian build --db 数据库`"
        )
        st.stop()
    return ctx


def people_page(title: str, hint: str) -> Ctx:
    """Title, permission check and caption of a page that lists named people: leaders
    (aggregates only) are told so and the page stops."""
    ctx = require_context()
    st.title(title)
    if not names_allowed(ctx):
        st.stop()
    st.caption(f"网格：{ctx.grid_name}　数据日期：{ctx.as_of:%Y年%m月%d日}　{hint}")
    return ctx


def names_allowed(ctx: Ctx) -> bool:
    """Leaders see aggregates only: pages that list people say so and stop."""
    if not ctx.scope.sees_names:
        st.warning("领导账号只能查看汇总数据，不能查看个人信息。")
        return False
    return True
