"""Bounds checked on a worksheet before the Excel reader is let at it.

The reader allocates the whole rectangle from A1 to the last cell, whatever lies
between: a 5 KB workbook with one cell at XFD1048576 would ask for 512 GiB
(issue "Keep serving"). The sheet's XML is scanned as a stream first — its
declared dimension, its last row and any cell beyond column Z — and a sheet
whose rectangle is larger than a department file can be is refused, and so is
one with a cell further right than ``[limits] max_columns`` (every column of the
rectangle becomes a column of the import's table: thousands of them exhaust its
memory however few rows there are). The width counts cells only, not the
declared dimension, which may claim more than the sheet holds.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from analytics.readers import UnreadableFile, too_wide

MAX_CELLS = 60_000_000  # a million rows of sixty columns
MAX_SHEET_XML_BYTES = 4 * 1024**3
MAX_COLUMNS = 512
_CHUNK = 4 * 1024 * 1024

_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_REL = re.compile(rb"<Relationship\b[^>]*>")
_ATTR = re.compile(rb'\b(Id|Target)="([^"]*)"')
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_WIDE_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{2,})(\d+)"')
_FAR_ROW = re.compile(rb'<(?:row|c)\b[^>]*?\br="[A-Z]*(\d{7,})"')


def column_number(letters: str) -> int:
    """Excel's column number of a column name.

    >>> column_number("A"), column_number("Z"), column_number("XFD")
    (1, 26, 16384)
    """
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _sheet_members(z: zipfile.ZipFile) -> list[str]:
    """The worksheet XML members in the workbook's sheet order."""
    try:
        book = z.read("xl/workbook.xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return sorted(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    targets = {}
    for rel in _REL.findall(rels):
        attrs = dict(_ATTR.findall(rel))
        if b"Id" in attrs and b"Target" in attrs:
            target = attrs[b"Target"].decode("utf-8", "replace").lstrip("/")
            targets[attrs[b"Id"]] = target if target.startswith("xl/") else f"xl/{target}"
    out = []
    for _, rid in _SHEET.findall(book):
        if rid in targets:
            out.append(str(PurePosixPath(targets[rid])))
    return out


def _extent(stream: zipfile.ZipExtFile) -> tuple[int, int, tuple[int, int]]:
    """(last row, last column) a sheet's XML names, from its dimension and cells, and
    (column, row) of the cell furthest right past column Z ((0, 0) if none is).

    Rows come in order, so the last row tag of each chunk gives the last row;
    row numbers of seven digits and columns past Z are rare enough in real
    files to be collected wherever they are."""
    rows = cols = 0
    widest = (0, 0)
    tail = b""
    first = True
    while chunk := stream.read(_CHUNK):
        data = tail + chunk
        if first:
            first = False
            m = _DIMENSION.search(data, 0, 65536)
            if m and m[4]:
                rows, cols = int(m[4]), column_number(m[3].decode())
            elif m and m[2]:
                rows, cols = int(m[2]), column_number((m[1] or b"A").decode())
        last = data.rfind(b"<row ")
        m = _ROW.match(data, last) if last >= 0 else None
        if m:
            rows = max(rows, int(m[1]))
        rows = max([rows, *(int(r) for r in _FAR_ROW.findall(data))])
        for c, r in _WIDE_CELL.findall(data):
            widest = max(widest, (column_number(c.decode()), -int(r)))
        tail = data[-64:]
    cols = max(cols, widest[0])
    return rows, max(cols, 26 if rows else 0), (widest[0], -widest[1])


def check_sheet(
    path: Path,
    index: int,
    max_cells: int = MAX_CELLS,
    max_xml_bytes: int = MAX_SHEET_XML_BYTES,
    max_columns: int = MAX_COLUMNS,
) -> None:
    """Refuse worksheet ``index`` of a workbook when its rectangle is too large to read
    or a cell lies past ``max_columns`` (the bounds are ``[limits]`` of the
    configuration; the defaults are its defaults)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = _sheet_members(z)
            if index >= len(members):
                return  # the reader reports a missing sheet itself
            info = z.getinfo(members[index])
            if info.file_size > max_xml_bytes:
                raise UnreadableFile(
                    f"工作表过大 (worksheet too large: {info.file_size} bytes of XML)"
                )
            with z.open(info) as stream:
                rows, cols, (widest, widest_row) = _extent(stream)
    except (zipfile.BadZipFile, KeyError, OSError):
        return  # not a zip the guard can read: the reader says why it cannot open it
    if widest > max_columns:
        raise too_wide(widest, max_columns, widest_row)
    if rows * cols > max_cells:
        raise UnreadableFile(
            f"工作表范围过大 (worksheet spans {rows} rows × {cols} columns, more than "
            f"{max_cells} cells)"
        )
