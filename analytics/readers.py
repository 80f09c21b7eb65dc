"""Reading department files into rows of text: CSV in any Chinese encoding, and
Excel workbooks. No interpretation happens here beyond turning cells into text;
row numbers are kept as Excel or WPS shows them (1-based).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

TABULAR = {".csv", ".xlsx", ".xlsm", ".xls"}


class UnreadableFile(Exception):
    """A file that cannot be opened as a table: its message says why."""


@dataclass
class Sheet:
    """The cells of one CSV file or one worksheet."""

    rows: list[tuple[int, list[str]]]  # (row number as Excel shows it, cells as text)
    encoding: str = ""
    sheet: str = ""


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:65536]:
        raise UnreadableFile("含有二进制内容，不是文本 CSV (binary content, not a text CSV)")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableFile("无法识别文件编码 (cannot tell the text encoding)")
    return str(best), best.encoding


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return True
    control = sum(1 for c in sample if ord(c) < 32 and c not in "\r\n\t")
    return control / len(sample) < 0.01


def decode_csv(path: Path) -> tuple[str, str]:
    """(text, encoding) of a CSV in UTF-8 (with or without BOM), GBK or GB18030."""
    text, encoding = _decode(path.read_bytes())
    if not _looks_like_text(text):
        raise UnreadableFile("含有控制字符，不是文本 CSV (control characters: not a text CSV)")
    return text, encoding


def delimiter_of(text: str) -> str:
    """The delimiter of a CSV text (comma, tab, semicolon or bar), from its start."""
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def parse_csv(text: str, delimiter: str, encoding: str) -> Sheet:
    """Rows of a decoded CSV text, each numbered by the line its record starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    line = 1  # the record starts on the line after the previous record ended
    try:
        if '"' not in text:
            # No quoting, so every record is one line: its number is its position.
            return Sheet(list(enumerate(reader, start=1)), encoding=encoding)
        for cells in reader:
            rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 格式错误，第 {line} 行 (malformed CSV at line {line}): {exc}")
    return Sheet(rows, encoding=encoding)


def read_csv(path: Path) -> Sheet:
    """Rows of a CSV in UTF-8 (with or without BOM), GBK or GB18030."""
    text, encoding = decode_csv(path)
    return parse_csv(text, delimiter_of(text), encoding)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def workbook_sheets(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook

    try:
        return list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as exc:  # calamine raises its own error types for every corrupt file
        raise UnreadableFile(f"无法打开 Excel 文件 (cannot open the workbook): {exc}") from exc


def read_sheet(path: Path, sheet: str | int = 0) -> Sheet:
    """Rows of one worksheet, numbered from row 1 of the sheet."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        ws = (
            book.get_sheet_by_index(sheet)
            if isinstance(sheet, int)
            else book.get_sheet_by_name(sheet)
        )
        data = ws.to_python(skip_empty_area=False)
        name = ws.name
    except Exception as exc:  # calamine raises its own error types for every corrupt file
        raise UnreadableFile(f"无法读取 Excel 工作表 (cannot read the worksheet): {exc}") from exc
    rows = [(i + 1, [_cell_text(v) for v in cells]) for i, cells in enumerate(data)]
    return Sheet(rows, encoding="xlsx", sheet=name)
