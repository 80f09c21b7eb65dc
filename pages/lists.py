"""名册: the person-level lists of the quarter for the viewer's grid — the
collection roster (征收清册) and the list of people whose residents'-scheme
contribution the government pays (代缴名单), as printable workbooks, and the
duplicate enrollments (重复参保) as the contract's CSV.

The bureau and cadres only (leaders see aggregates only; the page says so and
stops); a cadre's lists hold their own grid, full values (their work lists, as
``kuomian export roster --user`` gives them). Each file is made by
:mod:`analytics.quarter.lists` when the browser asks for it, and the ``export``
audit row (list, place, date, rows, the viewer's grid) is written in the same
step (:func:`pages._shared.download`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from analytics import writes
from analytics.access import Scope
from analytics.quarter.lists import export_duplicates, export_roster
from pages import _shared as ui

BOM = b"\xef\xbb\xbf"
ROSTERS = {
    "collection": (
        "征收清册",
        "下一年度城乡居民养老保险的缴费人员（参保缴费、暂停缴费），附填写栏",
    ),
    "subsidised": ("代缴名单", "困难群体（第7类）中参加城乡居民养老保险或未参保的人员，附代缴依据"),
}

ctx = ui.people_page("名册", "名册含完整身份证号，仅供本网格工作使用；每次下载都记入审计日志。")

grid = ui.areas(ctx.db, ctx.version)
grid = grid[[ctx.scope.covers(c) for c in grid["community_code"]]]
street_names = dict(zip(grid["street_code"], grid["street_name"]))
community_names = dict(zip(grid["community_code"], grid["community_name"]))

f1, f2, _ = st.columns([1.2, 1.2, 2])
with f1:
    street = st.selectbox(
        "街道/镇",
        [ui.ALL] + sorted(street_names),
        key="lists_street",
        format_func=lambda c: c if c == ui.ALL else street_names[c] or c,
    )
with f2:
    in_street = [c for c in sorted(community_names) if street == ui.ALL or c.startswith(street)]
    community = st.selectbox(
        "社区/村",
        [ui.ALL] + in_street,
        key="lists_community",
        format_func=lambda c: c if c == ui.ALL else community_names[c] or c,
    )
# The code the export narrows to (inside the scope, which it applies itself).
code = community if community != ui.ALL else street if street != ui.ALL else None
place = (
    (community_names.get(code) if code and len(code) == 12 else street_names.get(code or ""))
    or code
    or ctx.grid_name
)


def produced(write: Callable[[Path], int], suffix: str) -> tuple[bytes, int]:
    """The bytes and rows of a file an export writes (to a temporary folder: the
    exports write files, the browser gets bytes)."""
    with tempfile.TemporaryDirectory(prefix="kuomian-list-") as folder:
        out = Path(folder) / f"list{suffix}"
        rows = write(out)
        return out.read_bytes(), rows


def audited(
    label: str, write: Callable[[Path], int], suffix: str, name: str, mime: str, key: str, what: str
) -> None:
    """A download made on request; its ``export`` row carries the rows the file holds."""
    made: dict[str, int] = {}
    scope, db = ctx.scope, ctx.db

    def make() -> bytes:
        data, made["rows"] = produced(write, suffix)
        return data

    ui.download(
        label,
        make,
        name,
        mime,
        key,
        lambda: writes.log_export(db, scope, what, made["rows"]),
    )


filters = f"{place} {ctx.as_of}"
st.subheader("征收清册与代缴名单")
cols = st.columns(len(ROSTERS))
for col, (kind, (title, hint)) in zip(cols, ROSTERS.items()):
    with col:
        st.markdown(f"**{title}**")
        st.caption(hint + "；每个社区一张工作表，A4 横向打印。")
        audited(
            f"下载{title}（Excel）",
            lambda out, kind=kind: export_roster(
                ctx.db, out, kind, community=code, scope=ctx.scope, as_of=ctx.as_of
            ),
            ".xlsx",
            f"{title}_{place}_{ctx.as_of:%Y%m%d}.xlsx",
            ui.XLSX_MIME,
            f"lists_{kind}",
            f"{title} {filters} 格式=xlsx",
        )

st.subheader("重复参保")
st.caption(
    "本网格内有两条以上“参保缴费”或“待遇领取”参保记录的人员（含参保地、险种、状态），供清理重复参保。"
    + ("按所选街道/社区筛选。" if code else "")
)


def duplicates(out: Path) -> int:
    # The street or community chosen, as a narrower scope (it lies inside the
    # viewer's own: the choices above are their grid's).
    narrowed = Scope(ctx.scope.role, (code,), ctx.scope.user) if code else ctx.scope
    rows = export_duplicates(ctx.db, out, scope=narrowed, as_of=ctx.as_of)
    # A BOM so that Excel and WPS read the UTF-8 file as such.
    out.write_bytes(BOM + out.read_bytes())
    return rows


audited(
    "下载重复参保名单（CSV）",
    duplicates,
    ".csv",
    f"重复参保_{place}_{ctx.as_of:%Y%m%d}.csv",
    ui.CSV_MIME,
    "lists_duplicates",
    f"重复参保 {filters} 格式=csv",
)
