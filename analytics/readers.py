"""Reading department files into rows of text: CSV in any Chinese encoding, and
Excel workbooks. No interpretation happens here beyond turning cells into text;
row numbers are kept as Excel or WPS shows them (1-based).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TABULAR = {".csv", ".xlsx", ".xlsm", ".xls"}


class UnreadableFile(Exception):
    """A file that cannot be opened as a table: its message says why, ``row`` where
    in the file (as Excel shows it) when that is known."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.row = row


@dataclass
class Sheet:
    """The cells of one CSV file or one worksheet."""

    rows: list[tuple[int, list[str]]]  # (row number as Excel shows it, cells as text)
    encoding: str = ""
    sheet: str = ""
    malformed: set[int] = field(default_factory=set)  # places in ``rows`` of malformed records


def _decode(data: bytes) -> tuple[str, str]:
    nul = data.find(b"\x00")
    if 0 <= nul < 65536:
        raise UnreadableFile("含有二进制内容，不是文本 CSV (binary content, not a text CSV)")
    if nul >= 0:
        # No character of UTF-8, GBK or GB18030 holds a NUL byte: one anywhere makes the
        # file binary, not only in the sample checked first.
        raise UnreadableFile(
            "含有二进制内容 (NUL 字节)，不是文本 CSV (binary content: a NUL byte, not a text CSV)",
            row=data.count(b"\n", 0, nul) + 1,
        )
    if data.startswith(b"\xef\xbb\xbf"):
        # The byte order mark says UTF-8. Bytes after it that are not UTF-8 are a damaged
        # or spliced file (GBK text behind a BOM an editor added, a cut in the middle of a
        # character): reading them as GB18030 would guess, and a wrong guess would put
        # garbled names and IDs into the registry, so the file is refused at the line.
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                "以 UTF-8 BOM 开头，但内容不是有效的 UTF-8 文本 (starts with a UTF-8 byte "
                "order mark but is not valid UTF-8 text); 请另存为 UTF-8 或 GBK (save it "
                "again as UTF-8 or GBK)",
                row=data.count(b"\n", 0, exc.start + 3) + 1,
            ) from exc
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


UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_CHUNK = 1 << 20


def utf16_codec(path: Path) -> str | None:
    """The UTF-16 codec of a file that starts with a UTF-16 byte order mark, else None."""
    with path.open("rb") as f:
        return UTF16_BOMS.get(f.read(2))


def transcode_to_utf8(path: Path, target: Path, codec: str) -> None:
    """Write a UTF-16 file (after its byte order mark) to ``target`` as UTF-8, a chunk
    at a time, so memory does not grow with the file."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = 0
    with path.open("rb") as src, target.open("wb") as out:
        src.read(2)
        while True:
            chunk = src.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                good = exc.object[: exc.start].decode(codec, errors="replace")
                raise UnreadableFile(
                    f"不是有效的 {codec.upper()} 文本 (not valid {codec.upper()} text)",
                    row=lines + good.count("\n") + 1,
                ) from exc
            lines += text.count("\n")
            out.write(text.encode("utf-8"))
            if not chunk:
                return


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


def too_wide(columns: int, limit: int, row: int = 0) -> UnreadableFile:
    """The error for a table wider than ``[limits] max_columns``."""
    return UnreadableFile(
        f"列数过多 (too many columns): {columns} 列 (columns), 超过 [limits] max_columns "
        f"允许的 {limit} 列 (more than the {limit} allowed)",
        row=row,
    )


def parse_csv(text: str, delimiter: str, encoding: str, max_columns: int = 0) -> Sheet:
    """Rows of a decoded CSV text, each numbered by the line its record starts on.

    A malformed record (see :func:`_records`) is one row, the line it starts on, marked
    in ``malformed``; the lines after it are read again as records of their own. A
    record of more than ``max_columns`` cells (when given) stops the reading with
    :func:`too_wide`, before the rows are built up."""
    if '"' not in text:
        # No quoting, so every record is one line: its number is its position.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows: list[tuple[int, list[str]]] = []
        try:
            for line, cells in enumerate(reader, start=1):
                if max_columns and len(cells) > max_columns:
                    raise too_wide(len(cells), max_columns, line)
                rows.append((line, cells))
            return Sheet(rows, encoding=encoding)
        except csv.Error:
            pass  # a line past the field size limit: a malformed record, below
    rows = []
    malformed: set[int] = set()
    for line, cells, bad in _records(text, delimiter):
        if max_columns and len(cells) > max_columns:
            raise too_wide(len(cells), max_columns, line)
        if bad:
            malformed.add(len(rows))
        rows.append((line, cells))
    return Sheet(rows, encoding=encoding, malformed=malformed)


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str], bool]]:
    """(line it starts on, cells, malformed) of every record of a CSV text.

    A record is malformed when a quoted cell never closes (the quote would take the
    rest of the file into one cell), when a record spanning lines is not well formed
    by RFC 4180 (a quote that opened by mistake and closed on a later line, in the
    middle of a cell), or when a cell passes the csv module's size limit. Such a
    record is the one line it starts on (its cells read from that line alone), and
    reading goes on from the next line, so no line after it is lost. A record of one
    line keeps the csv module's lenient reading ("a"b reads ab, as Excel shows it)."""
    source = io.StringIO(text, newline="")
    replay: deque[tuple[int, str]] = deque()  # lines read again after a malformed record
    taken: list[tuple[int, str]] = []  # the lines of the record being read
    last = 0  # number of the last line taken from ``source``
    at_end = False

    def lines() -> Iterator[str]:
        nonlocal last, at_end
        while True:
            if replay:
                item = replay.popleft()
            else:
                line = source.readline()
                if not line:
                    at_end = True
                    return
                last += 1
                item = (last, line)
            taken.append(item)
            yield item[1]

    while True:
        reader = csv.reader(lines(), delimiter=delimiter)
        try:
            for cells in reader:
                # Left open at the end of the text, or spanning lines and not well formed.
                if at_end or (len(taken) > 1 and not _well_formed(taken, delimiter)):
                    break
                yield taken[0][0], cells, False
                taken.clear()
            else:
                return
        except csv.Error:
            if not taken:
                return
        first, rest = taken[0], taken[1:]
        yield first[0], _line_cells(first[1], delimiter), True
        replay.extendleft(reversed(rest))
        taken.clear()
        at_end = False


def _well_formed(lines: list[tuple[int, str]], delimiter: str) -> bool:
    """Whether lines read as exactly one record by RFC 4180's strict rules."""
    try:
        return len(list(csv.reader([t for _, t in lines], delimiter=delimiter, strict=True))) == 1
    except csv.Error:
        return False


def _line_cells(line: str, delimiter: str) -> list[str]:
    """The cells of one line of a malformed record, as far as they can be told."""
    line = line.rstrip("\r\n")
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


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
