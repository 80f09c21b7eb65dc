"""Hypothesis strategies and file mutations for the import fuzzing suite
(tests/test_fuzz_import.py, issue "Keep serving").

Two families of input:

- **Generated tables** of every kind of the contract, written as CSV or xlsx
  with the header synonyms and value lists of ``analytics/config/sources.toml``.
  Each row is made with a known fate (accepted, duplicate, problem), so the
  import report can be checked against an answer known independently of the
  importer: ``read`` is the number of data rows written, and so on.
- **Mutations** of files (the demo's, or generated ones): truncation, other
  encodings, binary junk, huge cells, formula-looking cells, duplicate or
  merged headers, many empty rows, far-away cells, odd zips.

IDs and credit codes come from :mod:`batchgen`, which computes their check
characters itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from batchgen import REGION, id_check, make_uscc
from hypothesis import strategies as st

from analytics.sources import Field, Kind, load_sources

SOURCES = load_sources()
# The kinds whose rows the generators make. `task` (任务分解) is left out: its rules
# beyond the field types (a street of the region, a year, whole-number tasks) live
# in analytics/ingest/checks.py's REFINED and ONE_OF, and tests/test_assessment.py
# checks them row by row.
KINDS: dict[str, Kind] = {n: k for n, k in SOURCES.kinds.items() if n != "task"}
AS_OF = dt.date(2025, 6, 30)

# What the contract trims (spaces, tabs, full-width spaces): padding that must not
# change a value.
PADDING = ("", " ", "  ", "\t", "\u3000")
# Text cells: common Chinese characters, ASCII, and punctuation departments use.
# No 计 (a cell reading 合计/总计/小计 makes a total row, which is not data).
_HAN = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
_TEXT_ALPHABET = _HAN + "abcdefgXYZ0123456789-_()（）·,，\"'#/"
# Cells spreadsheet programs read as formulas (contract: exports guard these).
FORMULA_PREFIXES = ("=", "+", "-", "@")
# Header cells that name no field of any kind.
EXTRA_HEADERS = ("序号", "备注", "联系人", "填表日期")
# File-name decorations that name no kind.
DECORATIONS = ("", "2025Q2_", "东城街道_", "（第二季度）", "_汇总", "_v2", " 副本")
TITLES = ("某某街道低保人员花名册", "2025年第二季度数据", "填报单位：某某局")


def gbk_safe(text: str) -> str:
    return "".join(ch for ch in text if _encodable(ch))


def _encodable(ch: str) -> bool:
    try:
        ch.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


# ------------------------------------------------------------------ values


def accepted_headers(f: Field) -> list[str]:
    """The header cells the contract accepts for a field: its synonyms and its name."""
    return list(dict.fromkeys((*f.headers, f.name)))


def header_cells(kind: Kind) -> set[str]:
    """Every header cell the contract accepts for some field of ``kind``."""
    return {h for f in kind.fields for h in accepted_headers(f)}


def person_id(u: int, area: str = REGION) -> str:
    """A valid 18-digit ID, different for every ``u`` (birth date and sequence)."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=u // 500)
    first17 = f"{area}{birth:%Y%m%d}{u % 500 * 2 + 1:03d}"
    return first17 + id_check(first17)


def _fullwidth_digits(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _fifteen(id18: str) -> str | None:
    """The old 15-digit form of an ID born in the 1900s (GB 11643 upgrades it back)."""
    return id18[:6] + id18[8:17] if id18[6:8] == "19" else None


@st.composite
def id_text(draw, u: int) -> str:
    """A valid ID for row ``u`` as a department might write it."""
    value = person_id(u)
    how = draw(st.sampled_from(["plain", "plain", "lower", "fullwidth", "fifteen"]))
    if how == "lower" and value.endswith("X"):
        value = value[:-1] + "x"
    elif how == "fullwidth":
        value = _fullwidth_digits(value)
    elif how == "fifteen":
        value = _fifteen(value) or value
    return value


@st.composite
def bad_id_text(draw, u: int) -> str:
    value = person_id(u)
    how = draw(st.sampled_from(["check", "short", "letters", "month"]))
    if how == "check":
        return value[:17] + ("0" if value[17] != "0" else "1")
    if how == "short":
        return value[:17]
    if how == "letters":
        return "ABC" + value[3:]
    first17 = value[:10] + "13" + value[12:17]
    return first17 + id_check(first17)


def _date_text(draw, d: dt.date) -> str:
    how = draw(st.sampled_from(["iso", "slash", "compact", "chinese", "serial", "time"]))
    if how == "iso":
        return d.isoformat()
    if how == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if how == "compact":
        return f"{d:%Y%m%d}"
    if how == "chinese":
        return f"{d.year}年{d.month}月{d.day}日"
    if how == "serial":
        return str((d - dt.date(1899, 12, 30)).days)
    return f"{d.isoformat()} 14:30"


@st.composite
def valid_value(draw, f: Field, u: int, as_of: dt.date) -> str:
    """A value the contract accepts for field ``f`` of row ``u`` (unique where it is a key)."""
    t = f.type
    if t == "id":
        return draw(id_text(u))
    if t == "uscc":
        value = make_uscc(u + 1)
        return value.lower() if draw(st.booleans()) else value
    if t == "date":
        lo = dt.date(1990, 1, 1)
        return _date_text(draw, draw(st.dates(lo, max(lo, as_of))))
    if t == "number":
        n = draw(st.integers(0, 99_999))
        return draw(st.sampled_from([str(n), f"{n:,}元", f"{n / 10000}万", f"{n}.0"]))
    if t == "enum":
        return draw(st.sampled_from(sorted(SOURCES.values[f.values or ""])))
    if t == "address_code":
        return REGION + f"{draw(st.integers(1, 12)):03d}{draw(st.integers(1, 40)):03d}"
    if t == "region_code":
        return draw(st.sampled_from([REGION, REGION + "001", REGION + "001002", "110105"]))
    if t == "division_code":
        # Unique per row, never ending in 000 (which would fold to a shorter code).
        return REGION + f"{u % 999 + 1:03d}{u // 999 % 999 + 1:03d}"
    return draw(text_cell(tricky=draw(st.integers(0, 7)) == 0))


@st.composite
def unreadable_value(draw, f: Field, u: int) -> str | None:
    """A value of ``f`` that fails its check (None for text, which cannot fail)."""
    t = f.type
    if t == "id":
        return draw(bad_id_text(u))
    if t == "uscc":
        v = make_uscc(u + 1)
        return v[:17] + ("0" if v[17] != "0" else "1")
    if t == "date":
        return draw(st.sampled_from(["2023-02-30", "明年", "13/45/2020", "2025-13-01"]))
    if t == "number":
        return draw(st.sampled_from(["三百", "n/a", "1.2.3"]))
    if t == "enum":
        return "未知取值"
    if t in ("address_code", "region_code", "division_code"):
        return draw(st.sampled_from(["5301", "53018100100", "abcdefabcdef"]))
    return None


@st.composite
def text_cell(draw, tricky: bool = False) -> str:
    """Free text that cleans to itself: no padding, no total word, GBK-encodable."""
    alphabet = _TEXT_ALPHABET + (";|\n" if tricky else "")
    body = draw(st.text(alphabet=alphabet, min_size=1, max_size=12))
    body = body.strip(" \t\u3000\n") or "甲"
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from(FORMULA_PREFIXES)) + body
    return body


# ------------------------------------------------------------------ tables


@dataclass
class Table:
    """A generated table: header, rows as written, and each row's known fate."""

    kind: Kind
    header: list[str]
    rows: list[list[str]]
    fates: list[str]  # accepted | duplicate | problem
    columns: dict[str, int]  # field name -> column index in header
    bare_header: list[str] = field(default_factory=list)  # without padding or "*"


@dataclass
class TableFile:
    """One generated file holding a slice of a kind's table."""

    name: str
    kind: Kind = field(repr=False)
    fmt: str = "csv"  # csv | xlsx
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    fates: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    eol: str = "\r\n"
    titles: list[str] = field(default_factory=list)
    blank_before_header: int = 0
    blank_between: dict[int, int] = field(default_factory=dict)  # after data row i: n blanks
    total_row: bool = False
    trailing_blanks: int = 0
    sheet_named: bool = False
    extra_sheet_first: bool = False
    names_two_kinds: bool = False
    other_kind: Kind | None = field(default=None, repr=False)  # the second kind named
    bare_header: list[str] = field(default_factory=list, repr=False)
    # Filled in by the writers: the row numbers (as Excel shows them) of each fate.
    row_numbers: dict[str, list[int]] = field(default_factory=dict)


def _is_blank(cell: str) -> bool:
    return cell.strip(" \t\u3000\u00a0\u200b\ufeff\r\n") == ""


@st.composite
def tables(draw, kind: Kind, first_u: int, as_of: dt.date = AS_OF, max_rows: int = 8) -> Table:
    """Rows of ``kind`` with known fates, under a header of random synonyms."""
    required = [f for f in kind.fields if f.required]
    optional = [f for f in kind.fields if not f.required]
    present = required + [f for f in optional if draw(st.booleans())]
    extras = draw(st.lists(st.sampled_from(EXTRA_HEADERS), max_size=2, unique=True))
    order = draw(st.permutations(present + extras))
    header, columns, bare = [], {}, []
    for i, col in enumerate(order):
        if isinstance(col, str):
            header.append(col)
            bare.append(col)
            continue
        columns[col.name] = i
        h = draw(st.sampled_from(accepted_headers(col)))
        bare.append(h)
        header.append(draw(st.sampled_from(PADDING)) + h + draw(st.sampled_from(["", "", "*"])))
    fields = {f.name: f for f in present}

    def pad(cell: str) -> str:
        if not cell or draw(st.integers(0, 5)):
            return cell
        return draw(st.sampled_from(PADDING)) + cell + draw(st.sampled_from(PADDING))

    def fresh_row(u: int, broken: bool) -> list[str] | None:
        row = [""] * len(order)
        for i, col in enumerate(order):
            if isinstance(col, str):
                row[i] = str(u) if col == "序号" else draw(st.sampled_from(["", "无"]))
                continue
            f = col
            if f.required or draw(st.booleans()):
                value = draw(valid_value(f, u, as_of))
                # An optional value that cannot be read is a warning, not a problem
                # (unreadable_value never gives a code outside the region, which would be).
                if not f.required and f.type != "text" and draw(st.integers(0, 4)) == 0:
                    value = draw(unreadable_value(f, u)) or value
                row[i] = value
        if broken:
            f = draw(st.sampled_from(required))
            bad = draw(unreadable_value(f, u)) if draw(st.booleans()) else None
            if f.type == "address_code" and bad is None and draw(st.booleans()):
                bad = "110105001001"  # a valid code outside the region: out_of_region
            emptied = list(row)
            emptied[columns[f.name]] = draw(st.sampled_from(["", " ", "\u3000"]))
            if bad is None and all(_is_blank(c) for c in emptied):
                bad = draw(unreadable_value(f, u))
            if bad is None:
                row = emptied
            else:
                row[columns[f.name]] = bad
        return [pad(c) for c in row]

    key_fields = set(kind.key)
    rows: list[list[str]] = []
    fates: list[str] = []
    accepted: list[int] = []  # indexes of accepted rows
    n = draw(st.integers(0, max_rows))
    for k in range(n):
        what = draw(st.sampled_from(["ok", "ok", "ok", "broken", "dup", "conflict"]))
        if what in ("dup", "conflict") and not accepted:
            what = "ok"
        u = first_u + k
        if what == "ok":
            rows.append(fresh_row(u, broken=False))
            fates.append("accepted")
            accepted.append(len(rows) - 1)
        elif what == "broken":
            rows.append(fresh_row(u, broken=True))
            fates.append("problem")
        else:
            original = rows[draw(st.sampled_from(accepted))]
            copy = [pad(c.strip(" \t\u3000")) for c in original]
            if what == "conflict":
                changeable = [
                    columns[f] for f in columns if f not in key_fields and fields[f].type == "text"
                ]
                if not changeable:
                    what = "dup"  # every field is part of the key: equal or another key
                else:
                    j = draw(st.sampled_from(changeable))
                    copy[j] = copy[j].strip(" \t\u3000") + "乙"
            rows.append(copy)
            fates.append("duplicate" if what == "dup" else "problem")
    return Table(kind, header, rows, fates, columns, bare)


def file_stem(kind: Kind, draw, other: Kind | None) -> str:
    """A file name stem naming ``kind`` (and ``other`` after it, when given)."""
    stem = draw(st.sampled_from([kind.label, kind.name]))
    if other is not None:
        stem = stem + "_" + other.label
    return draw(st.sampled_from(DECORATIONS)) + stem


def fields_named(bare_header: list[str], kind: Kind) -> set[str]:
    """The fields of ``kind`` that header cells name, by the contract's synonyms."""
    return {f.name for f in kind.fields for h in bare_header if h in accepted_headers(f)}


def kind_by_headers(f: TableFile) -> str:
    """How the importer must tell the kind of ``f`` (contract: the kind is found from the
    name, else from the headers; a file whose kind cannot be told is refused naming the
    kinds it could be): ``own``, or ``ambiguous`` when its name names two kinds and the
    headers fit the second as well as its own (the kind its required columns fit, with
    the most columns, wins). A worksheet named after its kind is decided by that name."""
    if f.other_kind is None or (f.fmt == "xlsx" and f.sheet_named):
        return "own"
    other = fields_named(f.bare_header, f.other_kind)
    if any(x.name not in other for x in f.other_kind.fields if x.required):
        return "own"
    own = fields_named(f.bare_header, f.kind)
    # The other kind names no column the own kind does not (no extra header names a
    # field), so it can tie with the own kind but never beat it.
    assert len(other) <= len(own), (f.name, other, own)
    return "ambiguous" if len(other) == len(own) else "own"


CSV_ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")


@st.composite
def table_files(draw, kind: Kind, first_u: int, as_of: dt.date = AS_OF) -> list[TableFile]:
    """One or two files (in name order) holding a generated table of ``kind``."""
    table = draw(tables(kind, first_u, as_of))
    parts = draw(st.sampled_from([1, 1, 2])) if len(table.rows) > 1 else 1
    cut = draw(st.integers(0, len(table.rows))) if parts == 2 else len(table.rows)
    slices = [(0, cut), (cut, len(table.rows))][:parts]
    two = draw(st.integers(0, 9)) == 0
    other = (
        draw(st.sampled_from([k for k in KINDS.values() if k.name != kind.name])) if two else None
    )
    # One stem for both parts, so that name order is row order.
    stem = file_stem(kind, draw, other)
    out = []
    for p, (lo, hi) in enumerate(slices):
        fmt = draw(st.sampled_from(["csv", "csv", "xlsx"]))
        part = f"_{p + 1}" if parts == 2 else ""
        rows = table.rows[lo:hi]
        f = TableFile(
            name=f"{stem}{part}.{fmt}",
            kind=kind,
            fmt=fmt,
            header=table.header,
            rows=rows,
            fates=table.fates[lo:hi],
            names_two_kinds=two,
            other_kind=other,
            bare_header=table.bare_header,
            titles=draw(st.lists(st.sampled_from(TITLES), max_size=2)),
            blank_before_header=draw(st.integers(0, 2)),
            blank_between={
                i: draw(st.integers(1, 3))
                for i in draw(st.lists(st.integers(0, max(len(rows) - 1, 0)), max_size=2))
            }
            if rows
            else {},
            total_row=draw(st.booleans()),
            trailing_blanks=draw(st.integers(0, 3)),
        )
        if fmt == "csv":
            f.encoding = draw(st.sampled_from(CSV_ENCODINGS))
            f.eol = draw(st.sampled_from(["\r\n", "\n"]))
        else:
            f.sheet_named = draw(st.booleans())
            f.extra_sheet_first = f.sheet_named and draw(st.booleans())
        out.append(f)
    return out


def _layout(f: TableFile) -> list[tuple[str, list[str]]]:
    """The file's rows top down, each tagged title | blank | header | fate | total."""
    out: list[tuple[str, list[str]]] = [("title", [t]) for t in f.titles]
    out += [("blank", [])] * f.blank_before_header
    out.append(("header", f.header))
    for i, (row, fate) in enumerate(zip(f.rows, f.fates, strict=True)):
        out.append((fate, row))
        out += [("blank", [])] * f.blank_between.get(i, 0)
    if f.total_row:
        out.append(("total", ["合计", f"共{len(f.rows)}条"]))
    out += [("blank", [])] * f.trailing_blanks
    return out


def write_table_file(folder: Path, f: TableFile) -> Path:
    """Write ``f`` into ``folder``; records the row number of every row's fate."""
    path = folder / f.name
    layout = _layout(f)
    f.row_numbers = {"accepted": [], "duplicate": [], "problem": []}
    if f.fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator=f.eol)
        line = 1
        for tag, cells in layout:
            if tag in f.row_numbers:
                f.row_numbers[tag].append(line)
            start = buf.tell()
            w.writerow(cells)
            line += buf.getvalue()[start:].count("\n")
        path.write_bytes(buf.getvalue().encode(f.encoding))
        return path
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_urls": False})
    if f.extra_sheet_first:
        book.add_worksheet("说明").write_string(0, 0, "本表为测试数据")
    ws = book.add_worksheet(f.kind.label if f.sheet_named else None)
    fmt = book.add_format({"border": 1})
    for r, (tag, cells) in enumerate(layout):
        if tag in f.row_numbers:
            f.row_numbers[tag].append(r + 1)
        if tag == "blank":
            ws.write_blank(r, 0, None, fmt)
        for c, v in enumerate(cells):
            if v != "":
                ws.write_string(r, c, v)
    book.close()
    return path


def write_manifest(folder: Path, as_of: str = AS_OF.isoformat(), region: str = REGION) -> None:
    (folder / "manifest.toml").write_text(
        f'as_of = "{as_of}"\nregion_code = "{region}"\n', encoding="utf-8"
    )


# ------------------------------------------------------------------ mutations


def column_number(letters: str) -> int:
    """Excel's number of a column (A = 1, XFD = 16384)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


BOM = b"\xef\xbb\xbf"


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def truncate(data: bytes, at: int) -> bytes:
    return data[: max(0, min(at, len(data)))]


def decoded(data: bytes) -> str:
    """Text of a demo CSV (UTF-8 with or without BOM, or GB18030)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


REENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "latin-1", "mojibake")


def reencode(data: bytes, encoding: str) -> bytes:
    """The same text in another encoding; ``latin-1`` loses what it cannot hold and
    ``mojibake`` is UTF-8 read as Latin-1 and written again as UTF-8."""
    text = decoded(data)
    if encoding == "mojibake":
        return text.encode("utf-8").decode("latin-1").encode("utf-8")
    return text.encode(encoding, errors="replace")


def text_encoding(data: bytes) -> str:
    """The encoding a demo CSV is written in, to write a mutation of its text back."""
    if data.startswith(BOM):
        return "utf-8-sig"
    return "utf-8" if is_utf8(data) else "gb18030"


def with_quote(data: bytes, line: int, at: int, closed: bool) -> bytes:
    """A CSV with a double quote put before character ``at`` of line ``line`` (0-based,
    lines split at LF), and another at that line's end when ``closed``."""
    lines = decoded(data).split("\n")
    body = lines[line].rstrip("\r")
    eol = lines[line][len(body) :]
    lines[line] = body[:at] + '"' + body[at:] + ('"' if closed else "") + eol
    return "\n".join(lines).encode(text_encoding(data))


def leaves_quote_open(body: str, at: int, closed: bool) -> bool:
    """Whether :func:`with_quote` on a line ``body`` (comma-separated, no quote of its
    own) opens a quoted cell that nothing closes: a quote opens a cell only at the
    cell's start (elsewhere it is text, RFC 4180 readers and Excel alike)."""
    starts = {0} | {k + 1 for k, ch in enumerate(body) if ch == ","}
    if at in starts:
        return not closed  # the second quote, at the line's end, would close it
    # The first quote is text; the second opens a last, empty cell when the line ends
    # with a comma.
    return closed and body.endswith(",") and at < len(body)


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(decoded(data), newline="")))


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def header_index(rows: list[list[str]]) -> int:
    """The first row of a demo CSV with more than one non-empty cell (its header)."""
    return next((i for i, r in enumerate(rows) if sum(1 for c in r if c.strip()) > 1), 0)


def insert_bytes(data: bytes, at: int, junk: bytes) -> bytes:
    at = max(0, min(at, len(data)))
    return data[:at] + junk + data[at:]


def far_cell(xlsx: bytes, ref: str, dimension: str) -> bytes:
    """An xlsx with one more cell at ``ref`` (e.g. XFD1048576) in its first sheet;
    ``dimension``: keep | drop | lie (claim A1:B2) | match."""
    row = re.fullmatch(r"[A-Z]+(\d+)", ref)[1]
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = body.decode("utf-8")
                cell = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>'
                text = text.replace("</sheetData>", cell + "</sheetData>", 1)
                if "<sheetData/>" in text:
                    text = text.replace("<sheetData/>", f"<sheetData>{cell}</sheetData>")
                dim = re.compile(r'<dimension ref="[^"]*"/>')
                if dimension == "drop":
                    text = dim.sub("", text)
                elif dimension == "lie":
                    text = dim.sub('<dimension ref="A1:B2"/>', text)
                elif dimension == "match":
                    text = dim.sub(f'<dimension ref="A1:{ref}"/>', text)
                body = text.encode("utf-8")
            z.writestr(info.filename, body)
    return out.getvalue()


def empty_rows_xlsx(path: Path, header: list[str], rows: list[list[str]], empty: int) -> None:
    """A compact workbook: the table, then ``empty`` formatted empty rows written as
    one row element each, then a last data row."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet()
    fmt = book.add_format({"border": 1})
    r = 0
    for cells in [header, *rows]:
        for c, v in enumerate(cells):
            ws.write_string(r, c, v)
        r += 1
    for _ in range(empty):
        ws.write_blank(r, 0, None, fmt)
        r += 1
    for c, v in enumerate(rows[0] if rows else header):
        ws.write_string(r, c, v)
    book.close()


# ------------------------------------------------------------------ zips


@dataclass
class ZipMember:
    name: bytes | str  # bytes: written without the UTF-8 flag (e.g. GBK)
    data: bytes = b""
    is_dir: bool = False


def write_zip(path: Path, members: list[ZipMember], method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip of ``members`` in order (duplicates kept). A bytes name is stored as
    written, without the UTF-8 flag, as Windows' built-in zip does with GBK."""
    # zipfile writes any non-ASCII name as UTF-8 with the flag set, so a bytes name is
    # written as an ASCII stand-in of the same length, replaced in the finished archive
    # (local header and central directory; no checksum covers a name).
    stand_ins: dict[bytes, bytes] = {}
    with zipfile.ZipFile(path, "w", method) as z, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are the point
        for i, m in enumerate(members):
            if isinstance(m.name, bytes):
                assert len(m.name) >= 8, m.name
                stand_in = f"~{i:05d}~".encode().ljust(len(m.name), b"~")
                stand_ins[stand_in] = m.name
                name = stand_in.decode()
            else:
                name = m.name
            if m.is_dir:
                info = zipfile.ZipInfo(name.rstrip("/") + "/")
                info.external_attr = 0o40755 << 16 | 0x10
                z.writestr(info, b"")
            else:
                info = zipfile.ZipInfo(name, date_time=(2025, 6, 30, 0, 0, 0))
                info.compress_type = method
                info.external_attr = 0o644 << 16
                z.writestr(info, m.data)
    if stand_ins:
        raw = path.read_bytes()
        for stand_in, name in stand_ins.items():
            assert raw.count(stand_in) == 2, stand_in  # local header and directory
            raw = raw.replace(stand_in, name)
        path.write_bytes(raw)
    return path


def zip_bytes(members: list[ZipMember]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for m in members:
            z.writestr(str(m.name), m.data)
    return buf.getvalue()
