"""Reading a batch's files into DuckDB: one temporary table of text cells per
table (a CSV, or a worksheet), in file order, before anything is checked.

A CSV is read by DuckDB's own reader when every record is one line (no quotes,
no blank lines, no lone carriage returns): then a record's row number is its
position. GBK and GB18030 are re-encoded to UTF-8 first, since DuckDB reads
UTF-8 only; UTF-16 (with its byte order mark) is re-encoded to a UTF-8 file in
a streaming pass before anything else reads it. Any other CSV goes through
Python's csv module, which numbers each record by the line it starts on; a
record that is not well formed (a quote that never closes) is one row marked
``malformed``, and the lines after it are read as usual. Worksheets are read
with calamine after :mod:`analytics.ingest.xlsxguard` has bounded their size.

Every column of a table becomes a column of its temporary table, so a table
wider than ``[limits] max_columns`` is refused before it is loaded: a CSV line of
sixteen thousand commas is 16 KB, and as many columns take more than DuckDB's
memory limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from analytics.config import Limits
from analytics.ingest.kinds import HEADER_SEARCH_ROWS, Located, Rows, kinds_in_name, locate
from analytics.ingest.records import ImportRejected, where
from analytics.ingest.xlsxguard import check_sheet
from analytics.readers import (
    Sheet,
    UnreadableFile,
    decode_csv,
    delimiter_of,
    parse_csv,
    read_sheet,
    too_wide,
    transcode_to_utf8,
    utf16_codec,
    workbook_sheets,
)
from analytics.sources import Kind, Sources

# A cell never holds this, so DuckDB's reader marks with it the cells a short
# record does not have (an empty cell stays '').
_ABSENT = "\x01"

# An in-memory database of the import's process that holds the tables of cells
# read, so that a batch can be read on one connection while the batch before it
# is checked on another (a temporary table is seen by its own connection only).
SCRATCH = "_kuomian_ingest"


def attach_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """Attach :data:`SCRATCH` to the database of ``con`` (for all its connections)."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SCRATCH}")


def raw_table(tag: str, seq: int, of: str = "cells") -> str:
    """A table of :data:`SCRATCH` for a batch's table ``seq``: its cells, or what
    ``of`` names; ``tag`` keeps batches read at once apart."""
    return f"{SCRATCH}.main._ingest_{tag}_{seq}_{of}"


@dataclass
class Table:
    """One table of a batch whose kind and header are known, its cells in ``raw``."""

    seq: int  # the table's place in the batch (files in name order, then sheets)
    source_file: str
    kind: Kind
    raw: str  # temporary table: pos (0-based), row_number, c0..c{width-1}
    width: int
    located: Located
    header_row: int  # the header's row number as Excel shows it
    encoding: str
    sheet: str
    malformed: bool = False  # ``raw`` has a column ``malformed``: the CSV records not well formed


def _native_ok(text: str) -> bool:
    """Whether every record of a CSV text is one non-blank line DuckDB reads as Python would."""
    if not text or '"' in text or "\x00" in text or _ABSENT in text:
        return False
    if text.startswith(("\n", "\r\n")) or "\n\n" in text or "\n\r\n" in text:
        return False
    return text.count("\r") == text.count("\r\n")


def _head(con: duckdb.DuckDBPyConnection, raw: str, width: int) -> Rows:
    cols = "".join(f", c{i}" for i in range(width))
    rows = con.execute(
        f"SELECT row_number{cols} FROM {raw} ORDER BY pos LIMIT {HEADER_SEARCH_ROWS}"
    ).fetchall()
    out: Rows = []
    for r in rows:
        cells = list(r[1:])
        while cells and cells[-1] is None:
            cells.pop()
        out.append((r[0], ["" if c is None else c for c in cells]))
    return out


def _load_rows(con: duckdb.DuckDBPyConnection, raw: str, sheet: Sheet) -> int:
    """A table of Python rows into ``raw`` (with a column ``malformed`` when a record
    is); its width."""
    width = max((len(c) for _, c in sheet.rows), default=0)
    arrays = {
        "pos": pa.array(range(len(sheet.rows)), pa.int64()),
        "row_number": pa.array([n for n, _ in sheet.rows], pa.int32()),
    }
    if sheet.malformed:
        arrays["malformed"] = pa.array(
            [i in sheet.malformed for i in range(len(sheet.rows))], pa.bool_()
        )
    for j in range(width):
        arrays[f"c{j}"] = pa.array(
            [c[j] if j < len(c) else None for _, c in sheet.rows], pa.string()
        )
    con.register("_ingest_rows", pa.table(arrays))
    con.execute(f"CREATE OR REPLACE TABLE {raw} AS SELECT * FROM _ingest_rows")
    con.unregister("_ingest_rows")
    return width


def _native_width(data: bytes, delimiter: str, max_columns: int) -> int:
    """The most cells a line of a UTF-8 CSV holds (no quotes: a cell per
    delimiter, plus one), or :func:`too_wide` naming the first line over
    ``max_columns``. Counted on the bytes at once (a delimiter is ASCII, and no
    byte of a longer UTF-8 character is), not line by line in Python."""
    if not data:
        return 1
    raw = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    marks = np.flatnonzero(raw == ord(delimiter))
    ends = np.append(newlines, len(raw))
    starts = np.concatenate(([0], newlines + 1))
    cells = np.searchsorted(marks, ends) - np.searchsorted(marks, starts) + 1
    over = np.flatnonzero(cells > max_columns)
    if len(over):
        raise too_wide(int(cells[over[0]]), max_columns, int(over[0]) + 1)
    return int(cells.max())


def _load_csv_native(
    con: duckdb.DuckDBPyConnection,
    raw: str,
    path: Path,
    text: str,
    encoding: str,
    delimiter: str,
    workdir: Path,
    max_columns: int,
) -> int:
    data = text.encode("utf-8")
    width = _native_width(data, delimiter, max_columns)
    if encoding in ("utf-8", "utf-8-sig"):
        source = path
    else:
        source = workdir / f"{raw.rsplit('.', 1)[-1]}.csv"
        source.write_bytes(data)
    columns = {f"c{i}": "VARCHAR" for i in range(width)}
    con.execute(
        f"""CREATE OR REPLACE TABLE {raw} AS
            SELECT n - 1 AS pos, n::INTEGER AS row_number, * EXCLUDE (n)
            FROM (SELECT row_number() OVER () AS n, * FROM read_csv($path,
            columns = $columns, header = false, delim = $delim, quote = '', escape = '',
            nullstr = $absent, null_padding = true, auto_detect = false,
            strict_mode = false, parallel = false))""",
        {"path": str(source), "columns": columns, "delim": delimiter, "absent": _ABSENT},
    )
    if source != path:
        source.unlink()
    return width


def _table(
    con: duckdb.DuckDBPyConnection,
    seq: int,
    label: str,
    width: int,
    sources: Sources,
    named: list[Kind],
    encoding: str,
    sheet: str,
    batch: str,
    tag: str,
    malformed: bool = False,
) -> Table:
    raw = raw_table(tag, seq)
    head = _head(con, raw, width)
    located = locate(label, head, sources, named, batch)
    header_row = head[located.header_index][0]
    return Table(
        seq, label, located.kind, raw, width, located, header_row, encoding, sheet, malformed
    )


def _load_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    sources: Sources,
    seq: int,
    workdir: Path,
    batch: str,
    max_columns: int,
    tag: str,
) -> Table:
    """A CSV into a table of cells. UTF-16 (with its byte order mark) is first
    re-encoded to UTF-8 in a streaming pass, then read as a UTF-8 file is."""
    raw = raw_table(tag, seq)
    codec = utf16_codec(path)
    text_path = path
    try:
        if codec:
            text_path = workdir / f"{raw.rsplit('.', 1)[-1]}.utf-8.csv"
            transcode_to_utf8(path, text_path, codec)
        text, encoding = decode_csv(text_path)
        delimiter = delimiter_of(text)
        malformed = False
        if _native_ok(text):
            width = _load_csv_native(
                con, raw, text_path, text, encoding, delimiter, workdir, max_columns
            )
        else:
            parsed = parse_csv(text, delimiter, encoding, max_columns)
            malformed = bool(parsed.malformed)
            width = _load_rows(con, raw, parsed)
            del parsed
        del text
    finally:
        if text_path != path:
            text_path.unlink(missing_ok=True)
    named = kinds_in_name(path.stem, sources)
    return _table(
        con, seq, path.name, width, sources, named, codec or encoding, "", batch, tag, malformed
    )


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    sources: Sources,
    seq: int,
    workdir: Path,
    limits: Limits | None = None,
    batch: str = "",
    tag: str = "0",
) -> list[Table]:
    """The tables of one file of the batch ``batch``, each read into a table of
    :data:`SCRATCH` named by ``tag`` (see :func:`raw_table`): a CSV, or the sheets of
    a workbook named after a kind (else its first sheet)."""
    name = path.name
    bounds = limits or Limits()
    try:
        if path.suffix.lower() == ".csv":
            return [_load_csv(con, path, sources, seq, workdir, batch, bounds.max_columns, tag)]
        sheets = workbook_sheets(path)
        named_sheets = [(i, s, kinds_in_name(s, sources)) for i, s in enumerate(sheets)]
        named_sheets = [(i, s, k) for i, s, k in named_sheets if k]
        if not named_sheets:
            named_sheets = [(0, 0, kinds_in_name(path.stem, sources))]
            labels = [name]
        else:
            labels = [name if len(named_sheets) == 1 else f"{name}:{s}" for _, s, _ in named_sheets]
        tables = []
        for k, ((index, s, kinds), label) in enumerate(zip(named_sheets, labels, strict=True)):
            check_sheet(
                path,
                index,
                bounds.max_sheet_cells,
                bounds.max_sheet_xml_bytes,
                bounds.max_columns,
            )
            sheet = read_sheet(path, s)
            # The guard counts the cells the XML names; the reader's width is the last word.
            width = max((len(c) for _, c in sheet.rows), default=0)
            if width > bounds.max_columns:
                limit = bounds.max_columns
                row = next((n for n, c in sheet.rows if any(c[limit:])), sheet.rows[0][0])
                raise too_wide(width, limit, row)
            width = _load_rows(con, raw_table(tag, seq + k), sheet)
            tables.append(
                _table(con, seq + k, label, width, sources, kinds, "xlsx", sheet.sheet, batch, tag)
            )
        return tables
    except UnreadableFile as exc:
        if exc.row:
            raise ImportRejected(
                f"{where(batch, name, row=exc.row)}: 文件无法读取 (cannot be read): {exc}",
                file=name,
                batch=batch,
                row=exc.row,
            ) from exc
        raise ImportRejected(f"{name}: 文件无法读取 (cannot be read): {exc}", file=name) from exc
