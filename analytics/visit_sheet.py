"""The printable visit list (走访清单) of a grid as an .xlsx workbook.

Laid out for A4 landscape: a title with the grid's name and the registry date,
the header row repeated on every printed page, the columns fitted to the page
width, and blank columns (走访日期, 结果, 签名) that the cadre fills in by hand
during the visit. ID numbers stay masked on paper (a lost sheet must not leak
them); the phone is printed in full because the cadre needs to call, and the
address is where the person lives (居住证), else their 户籍 address.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd

from analytics.access import mask_id

# (header, source column or None for a blank column to fill in, width in characters)
COLUMNS: list[tuple[str, str | None, float]] = [
    ("序号", "grid_rank", 5),
    ("姓名", "name", 8),
    ("身份证号", "id_masked", 20),
    ("性别", "gender", 5),
    ("年龄", "age", 5),
    ("社区/村", "community_name", 11),
    ("地址", "address", 18),
    ("对象类型", "target_label", 8),
    ("重点群体", "groups_text", 8),
    ("得分", "score", 6),
    ("推荐理由", "reasons", 28),
    ("建议措施", "action", 12),
    ("联系电话", "phone", 13),
    ("上次走访", "last_visit", 12),
    ("走访日期", None, 11),
    ("结果", None, 14),
    ("签名", None, 9),
]
HEADER_ROW = 2  # 0-based: title, subtitle, header


def last_visit(survey_date: object, result: object) -> str:
    """The last visit as one cell: its date and result (either may be missing).

    >>> last_visit(dt.date(2025, 5, 10), "考虑中")
    '2025-05-10 考虑中'
    """
    parts = []
    if survey_date is not None and not pd.isna(survey_date):
        parts.append(f"{pd.Timestamp(survey_date):%Y-%m-%d}")
    if isinstance(result, str) and result:
        parts.append(result)
    return " ".join(parts)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series([None] * len(frame), index=frame.index)


def _first_text(frame: pd.DataFrame, *names: str) -> pd.Series:
    out = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    for name in reversed(names):
        col = _column(frame, name)
        has = col.map(lambda v: isinstance(v, str) and bool(v.strip()))
        out = out.where(~has, col)
    return out


def print_formats(book) -> tuple:
    """The printable sheets' formats (visit list, rosters): title, subtitle, column
    header and a bordered, wrapped text cell."""
    title = book.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    sub = book.add_format({"font_size": 10, "align": "left"})
    head = book.add_format(
        {
            "bold": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
            "bg_color": "#D9E1F2",
            "text_wrap": True,
        }
    )
    text = book.add_format({"border": 1, "valign": "top", "text_wrap": True, "font_size": 10})
    return title, sub, head, text


def visit_sheet(rows: pd.DataFrame, grid_name: str, as_of: dt.date, printed_by: str = "") -> bytes:
    """The workbook as bytes. ``rows``: the frame of :func:`analytics.reads.targets`."""
    import xlsxwriter

    buf = io.BytesIO()
    # Every text cell is a string cell, never a formula or a link, whatever it holds
    # (a name or an area name from a department file may start with "=").
    book = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    ws = book.add_worksheet("走访清单")
    title, sub, head, cell = print_formats(book)
    blank = book.add_format({"border": 1, "font_size": 10})
    num = book.add_format({"border": 1, "valign": "top", "font_size": 10, "num_format": "0.00"})

    last_col = len(COLUMNS) - 1
    ws.merge_range(0, 0, 0, last_col, f"{grid_name} 养老保险扩面走访清单", title)
    ws.set_row(0, 28)
    ws.merge_range(
        1,
        0,
        1,
        last_col,
        f"数据日期：{as_of:%Y年%m月%d日}    打印日期：{dt.date.today():%Y年%m月%d日}"
        f"    共 {len(rows)} 人    打印人：{printed_by}",
        sub,
    )
    for c, (header, _, width) in enumerate(COLUMNS):
        ws.write_string(HEADER_ROW, c, header, head)
        ws.set_column(c, c, width)
    ws.set_row(HEADER_ROW, 20)
    frame = rows.copy()
    if "id_masked" not in frame and "id_number" in frame:
        frame["id_masked"] = frame["id_number"].map(mask_id)
    if "address" not in frame:
        frame["address"] = _first_text(frame, "residence_address", "hukou_address")
    frame["last_visit"] = [
        last_visit(d, r)
        for d, r in zip(_column(frame, "last_survey_date"), _column(frame, "survey_result"))
    ]
    for r, rec in enumerate(frame.to_dict("records"), start=HEADER_ROW + 1):
        for c, (_, col, _) in enumerate(COLUMNS):
            value = rec.get(col) if col else None
            if col is None:
                ws.write_blank(r, c, None, blank)
            elif col == "score" and value is not None and not pd.isna(value):
                ws.write_number(r, c, float(value), num)
            elif value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
                ws.write_blank(r, c, None, cell)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value, cell)
            else:
                ws.write_string(r, c, str(value), cell)
        ws.set_row(r, 30)
    # Print layout: A4 landscape, one page wide, header rows on every page.
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(0, HEADER_ROW)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_header(f"&L{grid_name}&R数据日期 {as_of:%Y-%m-%d}")
    ws.set_footer("&C第 &P 页，共 &N 页&R走访人签名：________")
    ws.freeze_panes(HEADER_ROW + 1, 2)
    book.close()
    return buf.getvalue()
