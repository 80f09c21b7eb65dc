"""Tiny generated batches for the importer tests.

IDs and credit codes are made by computing their check characters here, with
the arithmetic of the standards written out again (not imported from
``analytics.ids``), so a wrong table in the code under test cannot hide itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

REGION = "530181"
STREET = REGION + "001"
COMMUNITY = STREET + "001"  # 12-digit community code inside the region
AS_OF = dt.date(2025, 6, 30)

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_check(first17: str) -> str:
    """GB 11643-1999: weights 2^(17-i) mod 11, sum mod 11 -> 1 0 X 9 8 7 6 5 4 3 2."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def make_id(n: int = 1, birth: str = "19800101", area: str = REGION, female: bool = False) -> str:
    """A valid 18-digit ID: area, birth date, a sequence number whose last digit
    says the sex (odd for men), and the check digit."""
    seq = (2 * n) % 1000 if female else (2 * n + 1) % 1000
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + id_check(first17)


def uscc_check(first17: str) -> str:
    """GB 32100-2015: weights 3^(i) mod 31, check = (31 - sum mod 31) mod 31."""
    total = sum(_USCC_CHARS.index(c) * (3**i % 31) for i, c in enumerate(first17))
    return _USCC_CHARS[(31 - total % 31) % 31]


def make_uscc(n: int = 1, area: str = REGION) -> str:
    first17 = f"92{area}MA{n:07d}"[:17]
    return first17 + uscc_check(first17)


Rows = Sequence[Sequence[object]]


def write_csv(
    path: Path, rows: Rows, encoding: str = "utf-8", title_rows: Iterable[str] = ()
) -> Path:
    """A CSV of ``rows`` (header first) below optional one-cell title rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for t in title_rows:
        w.writerow([t])
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(
    path: Path,
    rows: Rows,
    title_rows: Iterable[str] = (),
    total_row: bool = False,
    trailing_blank_rows: int = 0,
    sheet_name: str | None = None,
    extra_sheets: dict[str, Rows] | None = None,
) -> Path:
    """A workbook whose first sheet holds title rows, ``rows`` (header first),
    optionally a 合计 row and some blank rows written with formatting (so the
    sheet's used range reaches past the data, as hand-edited files do)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheets = [(sheet_name, rows, list(title_rows))] + [
        (n, r, []) for n, r in (extra_sheets or {}).items()
    ]
    fmt = book.add_format({"border": 1})
    for name, data, titles in sheets:
        ws = book.add_worksheet(name)
        r = 0
        for t in titles:
            ws.write_string(r, 0, t)
            r += 1
        for row in data:
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
            r += 1
        if total_row and data:
            ws.write_string(r, 0, "合计")
            ws.write_number(r, 1, len(data) - 1)
            r += 1
        for _ in range(trailing_blank_rows):
            ws.write_blank(r, 0, None, fmt)
            ws.write_blank(r, 1, None, fmt)
            r += 1
    book.close()
    return path


def make_batch(
    root: Path,
    name: str,
    files: dict[str, Rows] | None = None,
    as_of: str | None = "2025-06-30",
    region: str | None = REGION,
    encoding: str = "utf-8",
) -> Path:
    """A batch folder ``root/name`` with CSV files and a manifest.toml (unless
    both as_of and region are None)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    if as_of is not None:
        lines.append(f'as_of = "{as_of}"')
    if region is not None:
        lines.append(f'region_code = "{region}"')
    if lines:
        (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for fname, rows in (files or {}).items():
        write_csv(folder / fname, rows, encoding=encoding)
    return folder


def hukou_rows(n: int = 3, start: int = 1) -> list[list[object]]:
    """户籍 rows of ``n`` men with valid IDs in the region."""
    rows: list[list[object]] = [["身份证号", "姓名", "户籍地址编码", "性别"]]
    for i in range(start, start + n):
        rows.append([make_id(i), f"张{i}", COMMUNITY, "男"])
    return rows
