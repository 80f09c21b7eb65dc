"""Normalizers for the values in department files: trimming, full-width folding,
dates and numbers. Pure functions; the importer applies them column by column.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Full-width ASCII (U+FF01..U+FF5E) folds to ASCII; the ideographic space to a space.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD[0x3000] = 0x20
# What the contract trims: spaces, tabs and full-width spaces (and the other
# invisible characters Excel exports carry: NBSP, zero-width space, line ends).
_TRIM = " \t\u3000\u00a0\u200b\ufeff\r\n"


def fold(value: str) -> str:
    """Full-width letters, digits and punctuation to half-width.

    >>> fold("１１０１０５ＡＢ　ｘ")
    '110105AB x'
    """
    return value.translate(_FOLD)


def clean(value: object) -> str:
    """A cell as trimmed, folded text ('' for an empty cell).

    >>> clean("\\t　张三 ")
    '张三'
    """
    if value is None:
        return ""
    text = (value if isinstance(value, str) else str(value)).strip(_TRIM)
    if text.isascii():
        return text  # nothing to fold: the common case, kept fast for large files
    return text.translate(_FOLD).strip(_TRIM)


def clean_column(values: list[str]) -> np.ndarray:
    """:func:`clean` over a column (an object array of str), vectorized with Arrow:
    only the cells holding full-width characters go through Python."""
    arr = pc.utf8_trim(pa.array(values, type=pa.string()), characters=_TRIM)
    out = arr.to_numpy(zero_copy_only=False).astype(object)
    wide = pc.match_substring_regex(arr, "[\uff01-\uff5e\u3000]").to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(wide):
        out[i] = clean(out[i])
    return out


def header_key(value: str) -> str:
    """How headers are compared: cleaned, inner spaces removed, lower case.

    >>> header_key(" 身份证 号码* ")
    '身份证号码'
    """
    text = re.sub(r"\s+", "", clean(value)).lower()
    # Required-column markers (* or ※) that templates put on headers are not part of the name.
    return text.strip("*※")


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_PATTERNS = (
    # A date-time cell (a visit at 14:30) is read as its date.
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
_SERIAL = re.compile(r"^(\d{1,5})(?:\.0+)?$")


def parse_date(value: str) -> dt.date | None:
    """A date written as 2025-06-30, 2025/6/30, 20250630, 2025年6月30日 or an
    Excel serial number; None when it is not a real date.

    >>> parse_date("2025年6月30日"), parse_date("45838"), parse_date("2023-02-30")
    (datetime.date(2025, 6, 30), datetime.date(2025, 6, 30), None)
    """
    for pattern in _DATE_PATTERNS:
        m = pattern.match(value)
        if m:
            try:
                day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
            return day if day.year >= 1900 else None
    m = _SERIAL.match(value)
    if m and 1 <= int(m[1]) <= 2958465:
        # Excel's day 60 is the 29 February 1900 that never was: serials from
        # 61 on are right with the 1899-12-30 epoch, 1..59 count from 1899-12-31.
        serial = int(m[1])
        if serial == 60:
            return None
        return _EXCEL_EPOCH + dt.timedelta(days=serial if serial > 60 else serial + 1)
    return None


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_UNIT_SUFFIX = re.compile(r"(元/月|元/年|元档|元|档|人|套|辆|个)$")


def parse_number(value: str) -> float | None:
    """A number written with thousands separators, a unit or 万; None otherwise.

    >>> parse_number("6,500元"), parse_number("1.2万"), parse_number("三百")
    (6500.0, 12000.0, None)
    """
    text = value.replace(",", "").replace("，", "")
    text = _UNIT_SUFFIX.sub("", text)
    scale = 1.0
    if text.endswith("万"):
        text, scale = text[:-1], 10_000.0
    if not _NUMBER.match(text):
        return None
    return float(text) * scale
