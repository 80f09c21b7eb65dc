"""What every page shares: the viewer's context (database, registry version, scope)
derived from the logged-in account, cached read functions, number formats, the
audited downloads and the handling of unexpected errors.

The read functions are those of :mod:`analytics.reads` wrapped in ``st.cache_data``;
their arguments (database path, registry version, scope, filters) are the cache key,
so a new build (a new version) is read afresh without clearing anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analytics import reads, writes
from analytics.access import ROLES, Scope
from analytics.accounts import Account
from analytics.exports import safe_csv_bytes
from analytics.store import default_db
from analytics.visit_sheet import visit_sheet as _visit_sheet
from geo import maps as _maps

log = logging.getLogger("kuomian.app")

ROLE_LABELS = ROLES
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALL = "（全部）"

# Session-state keys: the account re-read from the app store in this run (set by
# app.py, never by a widget), and what the viewer chose: a cadre's part of their
# own grid, the registry date.
K_ACCOUNT, K_AREA, K_AS_OF = "_kuomian_account", "cadre_area", "as_of"


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
grid_kpi = st.cache_data(show_spinner=False, max_entries=64)(reads.grid_kpi)
chart_config = _maps.chart_config


@st.cache_data(show_spinner=False, max_entries=32)
def grid_trend(db: str, snapshots: tuple, codes: tuple[str, ...]) -> pd.DataFrame:
    """A cadre's grid over all snapshots (``snapshots`` is the cache key)."""
    return reads.grid_trend(db, codes)


@st.cache_data(show_spinner=False, max_entries=32)
def visit_coverage(
    db: str, version: int, scope: Scope, year: int, visits_stamp: int
) -> pd.DataFrame:
    """Visit coverage per community; ``visits_stamp`` (the app's visits so far) is
    part of the key, so a visit recorded since shows at the next run."""
    return reads.visit_coverage(db, version, scope, year)


@st.cache_data(show_spinner=False, max_entries=32)
def visits_by_visitor(
    db: str, version: int, scope: Scope, year: int, visits_stamp: int
) -> pd.DataFrame:
    return reads.visits_by_visitor(db, version, scope, year)


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
def quality(db: str, published: int | None, scope: Scope) -> pd.DataFrame:
    return reads.quality(db, scope)


@st.cache_data(show_spinner=False, max_entries=16)
def problems(db: str, published: int | None, scope: Scope, as_of: dt.date | None) -> pd.DataFrame:
    return reads.problems(db, scope, as_of)


@st.cache_data(show_spinner=False, max_entries=16)
def import_log(db: str, published: int | None, scope: Scope) -> pd.DataFrame:
    return reads.import_log(db, scope)


@st.cache_data(show_spinner=False, max_entries=32)
def goals(db: str, version: int) -> dict[int, tuple[float, float]]:
    """year -> (coverage goal, structure goal) stored with the registry version, so
    colours and gaps always use the same goals."""
    return reads.goals(db, version)


cn_date = reads.cn_date
cn_time = reads.cn_time


def screen(frame: pd.DataFrame, as_given: tuple[str, ...] = ("batch", "批次")) -> pd.DataFrame:
    """A table as the screen shows it: dates as 2025年9月30日 (times with the hour),
    yes/no in Chinese, and empty cells empty (Streamlit would print ``None``).
    The columns ``as_given`` keep their text: a batch is named after its folder,
    often its date (2025-03-31), and is shown as the user named it."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if col in as_given:
            out[col] = [_cell(v, dates_in_text=False) for v in values]
            continue
        if pd.api.types.is_bool_dtype(values):
            out[col] = values.map({True: "是", False: "否"})
        elif pd.api.types.is_datetime64_any_dtype(values):
            has_time = (values.dropna().dt.normalize() != values.dropna()).any()
            out[col] = values.map(cn_time if has_time else cn_date)
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[col] = [_cell(v) for v in values]
        elif values.isna().any():
            out[col] = ["" if pd.isna(v) else v for v in values]
    return out


# A table on screen lists at most this many rows. A city's whole visit list
# (157k targets at a million people) took 2.2 s to format and seconds more to
# send on every rerun, and nobody reads past the first pages: the filters
# narrow the list, the downloads carry every row.
SCREEN_ROWS = 1000


def rows_note(total: int, unit: str = "行") -> None:
    """Say that a table of ``total`` rows lists only its first :data:`SCREEN_ROWS`."""
    if total > SCREEN_ROWS:
        st.caption(
            f"屏幕上列出前 {SCREEN_ROWS:,} {unit}（共 {total:,} {unit}）；"
            "其余请用筛选缩小范围，或下载完整清单。"
        )


def first_rows(frame: pd.DataFrame, unit: str = "行") -> pd.DataFrame:
    """The first :data:`SCREEN_ROWS` rows of ``frame``, saying so when there are more."""
    rows_note(len(frame), unit)
    return frame.head(SCREEN_ROWS)


def _cell(v: object, dates_in_text: bool = True) -> object:
    if v is None or (not isinstance(v, (list, tuple, dict)) and pd.isna(v)):
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dt.datetime):
        return cn_time(v) if (v.hour, v.minute, v.second) != (0, 0, 0) else cn_date(v)
    if isinstance(v, dt.date):
        return cn_date(v)
    if dates_in_text and isinstance(v, str) and _ISO_DATE.fullmatch(v):  # a date as text
        return cn_dates(v)
    return v


_CJK = re.compile(r"[\u4e00-\u9fff]")
_ENGLISH_GLOSS = re.compile(r"\s*[(（][^()（）]*[A-Za-z]{2}[^()（）]*[)）]")
_ISO_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})-([0-9]{2})-([0-9]{2})(?![0-9])")


def message(error: object) -> str:
    """A data-layer message as the screen shows it: the English gloss in brackets
    and the clauses without any Chinese (hints for the command line) left out,
    ISO dates as 2025年6月30日.

    >>> message("导入被拒绝 (rejected): 户籍人口.csv: 日期 2025-06-30 晚于今天; add manifest.toml")
    '导入被拒绝：户籍人口.csv：日期 2025年6月30日 晚于今天'
    """
    text = _ENGLISH_GLOSS.sub("", str(error))
    clauses = []
    for clause in re.split(r"\s*[;；]\s*", text):
        parts = [p.strip() for p in re.split(r"\s*[:：]\s+|：", clause) if p.strip()]
        # A trailing part without Chinese that reads as English is a command-line hint.
        while parts and not _CJK.search(parts[-1]) and re.search(r"[A-Za-z]{3}", parts[-1]):
            if re.fullmatch(r"[\w.\-/]+\.(?:csv|xlsx|xls|zip|geojson|json|toml)", parts[-1]):
                break
            parts.pop()
        if parts and _CJK.search("".join(parts)):
            clauses.append("：".join(parts))
    return cn_dates("；".join(clauses) or "操作未完成")


def cn_dates(text: str) -> str:
    """``text`` with its ISO dates (2025-05-10) written as 2025年5月10日."""
    return _ISO_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", str(text))


def pct(v: object, digits: int = 2) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.{digits}%}"


def people(v: object) -> str:
    return "—" if v is None or pd.isna(v) else f"{int(v):,} 人"


def account() -> Account:
    """The logged-in account, re-read from the app store now; without one, the
    login form (or the forced password change) and a stop.

    app.py checks this before any page, but every page asks again: Streamlit runs
    a file of pages/ on its own (its first, folder-based multipage mode) when a
    server process's first run asks for that page, before app.py has called
    st.navigation, so a page never relies on app.py having run."""
    from pages import _session as session  # _session imports this module

    acc = session.current(db_path())
    if acc is None:
        session.login_page()
        st.stop()
    if acc.must_change_password:
        session.change_password_page()
        st.stop()
    return acc


def cadre_choices(acc: Account) -> list[str]:
    """The parts of a cadre's grid they may narrow the screen to: their own scope
    codes, nothing else."""
    return list(acc.scope) if acc.role == "cadre" else []


def build_scope(status: reads.Status, version: int) -> tuple[Scope, str]:
    """The viewer's scope, from their account (never from the screen), and the
    name of their grid. A cadre with several scope codes may look at one of them;
    a chosen code that is not one of the account's own is ignored."""
    acc = account()
    if acc.role != "cadre":
        return Scope(acc.role, None, acc.name), status.region_name or "全市"
    codes = tuple(acc.scope)
    chosen = st.session_state.get(K_AREA)
    if chosen in codes:
        codes = (chosen,)
    grid = areas(status.db, version)
    names = dict(zip(grid["street_code"], grid["street_name"]))
    names.update(zip(grid["community_code"], grid["community_name"]))
    return Scope.cadre(codes, acc.name), "、".join(area_name(c, names) for c in codes)


def area_name(code: str, names: dict[str, str]) -> str:
    """A street's or community's name (a community with its street's), else its code."""
    if len(code) == 12 and names.get(code[:9]):
        return f"{names[code[:9]]}{names.get(code) or code}"
    return names.get(code) or code


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
    st.caption(f"网格：{ctx.grid_name}　数据日期：{cn_date(ctx.as_of)}　{hint}")
    return ctx


def names_allowed(ctx: Ctx) -> bool:
    """Leaders see aggregates only: pages that list people say so and stop."""
    if not ctx.scope.sees_names:
        st.warning(f"{ROLES[ctx.scope.role]}账号只能查看汇总数据，不能查看个人信息。")
        return False
    return True


# ---------------------------------------------------------------- audited downloads


def download(
    label: str,
    make: Callable[[], bytes],
    file_name: str,
    mime: str,
    key: str,
    log_row: Callable[[], None],
    empty: bool = False,
    help: str = "每次下载都会记录在审计日志中（下载人、内容、筛选条件、行数）。",
) -> None:
    """The product's own download button. The file is made only when it is asked
    for, and the audit row is written in the same step, before the file is handed
    over: a browser that asks for the file without a click (Streamlit serves a
    deferred file to whoever has its id) is logged all the same, and a file whose
    row cannot be written is not served."""

    def data() -> bytes:
        content = make()
        log_row()
        return content

    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
        disabled=empty,
        help=help,
    )


def names_download(
    ctx: Ctx,
    label: str,
    make: Callable[[], bytes],
    file_name: str,
    mime: str,
    key: str,
    what: str,
    rows: int,
) -> None:
    """:func:`download` of person-level data: an ``export`` row with the viewer's
    account, role and grid, ``what`` (the list and its filters) and the rows."""
    scope, db = ctx.scope, ctx.db
    download(
        label,
        make,
        file_name,
        mime,
        key,
        lambda: writes.log_export(db, scope, what, rows),
        empty=rows == 0,
    )


def csv_download(ctx: Ctx, label: str, frame: pd.DataFrame, file_name: str, key: str, what: str):
    """A CSV download of ``frame`` (safe text cells, UTF-8 with a BOM), audited."""
    names_download(
        ctx, label, lambda: safe_csv_bytes(frame), file_name, CSV_MIME, key, what, len(frame)
    )


# ---------------------------------------------------------------- unexpected errors


def run_safely(page: Callable[[], None]) -> None:
    """Run a page; an unexpected error shows a Chinese message with an error
    number, and the server's log gets the number, the exception type and the
    traceback's frames (file, line, function) — not the exception's message nor
    any value, which may hold a person's data."""
    try:
        page()
    except Exception as exc:  # noqa: BLE001 - the page's last resort; logged below
        number = uuid.uuid4().hex[:8]
        frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
        log.error("page error %s: %s\n%s", number, type(exc).__name__, frames)
        st.error(
            f"页面出错（错误编号 {number}），请稍后重试；如果一再出现，请把编号告诉系统管理员。"
        )
