"""Writers: rendered cells to a CSV or xlsx file, byte-identical from run to run."""

from __future__ import annotations

import datetime as dt
import pathlib

import pandas as pd

from analytics.demo.plans import FilePlan


def _write_csv(path: pathlib.Path, cells: pd.DataFrame, plan: FilePlan) -> None:
    """CSV with RFC 4180 quoting where a value needs it (pandas' writer is slow on object columns)."""
    eol = "\r\n" if plan.crlf else "\n"
    ncol = cells.shape[1]
    cols = []
    for c in cells.columns:
        col = cells[c].to_numpy(dtype=object).tolist()
        try:
            joined = "\x00".join(col)  # fast path: the column is all text already
        except TypeError:
            col = ["" if v is None else str(v) for v in col]
            joined = "\x00".join(col)
        if any(ch in joined for ch in ',"\r\n'):
            col = [
                f'"{v.replace(chr(34), chr(34) * 2)}"' if any(ch in v for ch in ',"\r\n') else v
                for v in col
            ]
        cols.append(col)
    lines = [t + "," * (ncol - 1) for t in plan.title]
    lines.append(",".join(cells.columns))
    lines.extend(map(",".join, zip(*cols)))
    if plan.total_row:
        lines.append("合计," + f"共{len(cells)}条" + "," * (ncol - 2))
    with open(path, "w", encoding=plan.encoding, newline="") as fh:
        fh.write(eol.join(lines) + eol)


def _write_xlsx(path: pathlib.Path, cells: pd.DataFrame, plan: FilePlan) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "in_memory": True,
            "default_date_format": "yyyy-mm-dd",
            "strings_to_urls": False,
            "strings_to_formulas": False,
        },
    )
    # A fixed creation time keeps the workbook byte-identical from run to run.
    wb.set_properties(
        {"created": dt.datetime(2025, 1, 1), "title": "示例市合成示例数据（非真实数据）"}
    )
    ws = wb.add_worksheet(plan.sheet)
    bold = wb.add_format({"bold": True, "align": "center"})
    border = wb.add_format({"border": 1})
    ncol = cells.shape[1]
    r = 0
    for title in plan.title:
        if ncol > 1:
            ws.merge_range(r, 0, r, ncol - 1, title, bold)
        else:
            ws.write_string(r, 0, title, bold)
        r += 1
    ws.write_row(r, 0, list(cells.columns), bold)
    r += 1
    for row in cells.itertuples(index=False, name=None):
        ws.write_row(r, 0, ["" if v is None else v for v in row])
        r += 1
    if plan.total_row:
        ws.write_row(r, 0, ["合计", f"共{len(cells)}人"])
        r += 1
    for _ in range(plan.blank_tail):  # bordered empty rows that a roster template leaves behind
        for c in range(ncol):
            ws.write_blank(r, c, None, border)
        r += 1
    wb.close()
