"""Rendering: canonical rows as the cell values of one file, with formatting defects applied."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.demo.contract import KindSpec
from analytics.demo.dates import _ymd
from analytics.demo.plans import FilePlan
from analytics.demo.reference import _SCHEMES, _SCHEMES_SHORT

_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_PADS = (" ", "  ", "\t", "\u3000")


def _fmt_dates(dates: np.ndarray, style: str) -> np.ndarray:
    """Dates (datetime64, NaT allowed) as text in one of the contract's formats."""
    out = np.full(len(dates), "", dtype=object)
    ok = ~np.isnat(dates)
    if not ok.any():
        return out
    y, m, d = _ymd(dates[ok])
    ys, ms, ds = y.astype(str), m.astype(str), d.astype(str)
    if style == "iso":
        txt = np.datetime_as_string(dates[ok], unit="D")
    elif style == "slash":
        txt = np.char.add(np.char.add(np.char.add(ys, "/"), np.char.add(ms, "/")), ds)
    elif style == "compact":
        txt = np.char.replace(np.datetime_as_string(dates[ok], unit="D"), "-", "")
    else:
        txt = np.char.add(
            np.char.add(np.char.add(ys, "年"), np.char.add(ms, "月")), np.char.add(ds, "日")
        )
    out[ok] = txt
    return out


def _impossible_date(style: str, rng: np.random.Generator) -> str:
    """A date that cannot exist (30 February, month 13), written in the file's style."""
    y = int(rng.integers(2019, 2024))
    m, d = ((2, 30), (2, 31), (4, 31), (13, 5), (6, 31))[int(rng.integers(0, 5))]
    return {
        "iso": f"{y}-{m:02d}-{d:02d}",
        "slash": f"{y}/{m}/{d}",
        "compact": f"{y}{m:02d}{d:02d}",
        "chinese": f"{y}年{m}月{d}日",
    }[style]


def _excel_serial(date: np.datetime64) -> int:
    return int((date - np.datetime64("1899-12-30")).astype(int))


_SCHEME_SHORT = dict(zip(_SCHEMES[1:], _SCHEMES_SHORT[1:]))
_LEVEL_STYLE = {
    "ji": {"一级": "1级", "二级": "2级", "三级": "3级", "四级": "4级"},
    "num": {"一级": "1", "二级": "2", "三级": "3", "四级": "4"},
}


def _render(
    rows: pd.DataFrame, ops: np.ndarray, spec: KindSpec, plan: FilePlan, rng: np.random.Generator
) -> pd.DataFrame:
    """Cell values of one file, in header order, with the post-render defects applied."""
    cells: dict[str, np.ndarray] = {}
    for fld, head in plan.headers.items():
        col = rows[fld]
        if fld in spec.dates:
            vals = col.to_numpy(dtype="datetime64[D]")
            if plan.date_cells:
                out = np.array(
                    [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in vals],
                    dtype=object,
                )
            else:
                out = _fmt_dates(vals, plan.date_style)
        else:
            out = col.to_numpy(dtype=object).copy()
            if fld == "scheme" and plan.short_schemes:
                out = pd.Series(out).replace(_SCHEME_SHORT).to_numpy(dtype=object)
            if fld == "disability_level" and plan.level_style in _LEVEL_STYLE:
                out = pd.Series(out).replace(_LEVEL_STYLE[plan.level_style]).to_numpy(dtype=object)
        cells[head] = out
    _apply_ops(cells, rows, ops, spec, plan, rng)
    frame = pd.DataFrame({h: pd.Series(v, dtype=object) for h, v in cells.items()})
    if plan.seq_col:
        frame.insert(0, "序号", np.arange(1, len(frame) + 1, dtype=object))
    return frame


def _apply_ops(
    cells: dict[str, np.ndarray],
    rows: pd.DataFrame,
    ops: np.ndarray,
    spec: KindSpec,
    plan: FilePlan,
    rng: np.random.Generator,
) -> None:
    """Formatting defects and unreadable dates, written into the cells of the marked rows."""
    idh = plan.headers.get(spec.id_field or "", None)
    dfield = spec.dates[0] if spec.dates else None
    dh = plan.headers[dfield] if dfield else None
    for i in np.flatnonzero(ops != ""):
        o = ops[i]
        if o == "id15":  # the old 15-digit form: no century, no check digit
            s = cells[idh][i]
            cells[idh][i] = s[:6] + s[8:17]
        elif o == "id_fw":
            cells[idh][i] = cells[idh][i].translate(_FULLWIDTH)
        elif o == "id_lx":
            cells[idh][i] = cells[idh][i][:17] + "x"
        elif o == "pad":
            col = idh if idh and rng.random() < 0.5 else plan.headers[spec.fields[1]]
            v = str(cells[col][i])
            if v:
                cells[col][i] = _PADS[int(rng.integers(0, 4))] + v + _PADS[int(rng.integers(0, 4))]
        elif o == "date_alt":
            style = ["slash", "compact", "chinese", "iso"][int(rng.integers(0, 4))]
            if style == plan.date_style:
                style = "chinese" if style != "chinese" else "slash"
            v = pd.Timestamp(rows[dfield].iat[i])
            cells[dh][i] = {
                "iso": f"{v:%Y-%m-%d}",
                "slash": f"{v.year}/{v.month}/{v.day}",
                "compact": f"{v:%Y%m%d}",
                "chinese": f"{v.year}年{v.month}月{v.day}日",
            }[style]
        elif o == "date_fw":
            cells[dh][i] = str(cells[dh][i]).translate(_FULLWIDTH)
        elif o == "date_serial":
            cells[dh][i] = _excel_serial(np.datetime64(rows[dfield].iat[i], "D"))
        elif o == "opt_date":
            cells[plan.headers[spec.optional_date_warn]][i] = _impossible_date(plan.date_style, rng)
        elif o == "bad_date":
            cells[plan.headers[spec.required_dates[0]]][i] = _impossible_date(plan.date_style, rng)
