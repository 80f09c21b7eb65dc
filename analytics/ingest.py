"""``kuomian import``: department files in, accepted rows, problem data and an
accounting out, exactly as shared/data-contract.md describes.

Every row below a file's header ends in one place — accepted, duplicate or
problem — so that ``read = accepted + duplicates + problems`` for each file.
A batch (or several in one command) lands whole or not at all: everything is
read and checked before the one transaction that writes it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import tomllib
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics import store
from analytics.config import load_config
from analytics.ids import gender as id_gender
from analytics.ids import normalize_id, normalize_ids, normalize_uscc
from analytics.readers import TABULAR, Sheet, UnreadableFile, read_csv, read_sheet, workbook_sheets
from analytics.sources import Field, Kind, Sources, load_sources
from analytics.store import FIELD_BATCH
from analytics.textnorm import clean, clean_column, header_key, parse_date, parse_number

# The order in which a row's problems are tried; a problem row keeps the first.
REASONS = (
    "missing_value",
    "invalid_id",
    "invalid_uscc",
    "invalid_date",
    "invalid_value",
    "invalid_address_code",
    "out_of_region",
    "conflict",
)
_REASON_RANK = {r: i for i, r in enumerate(REASONS)}
_TOTAL_WORDS = {"合计", "总计", "小计"}
HEADER_SEARCH_ROWS = 10  # one to five title rows, with blank rows between, fit easily
# The batch name of visit results recorded in the app (走访清单 form).


class ImportRejected(Exception):
    """A batch that cannot be imported; nothing of it was written."""

    def __init__(self, message: str, file: str = "", field: str = "") -> None:
        super().__init__(message)
        self.file = file
        self.field = field


@dataclass
class FileReport:
    batch: str
    as_of: dt.date
    source_file: str
    kind: str
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    problems: int = 0
    warnings: int = 0
    encoding: str = ""
    sheet: str = ""
    header_row: int = 0


@dataclass
class Issue:
    """A problem (severity error) or a warning about one row."""

    source_file: str
    row_number: int
    kind: str
    reason: str
    id_number: str
    raw: str
    severity: str
    field: str
    message: str


@dataclass
class Table:
    """One sheet whose kind and header are known, ready to be checked row by row."""

    source_file: str
    kind: Kind
    sheet: Sheet
    header_row: int  # index into sheet.rows
    columns: dict[str, int]  # field name -> column index
    headers: list[str]


@dataclass
class BatchResult:
    batch: str
    as_of: dt.date
    region_code: str
    source_path: str
    files: list[FileReport] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    accepted: dict[str, pd.DataFrame] = field(default_factory=dict)
    boundaries: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- batch folder

_DATE_IN_NAME = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "ymd"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), "ymd"),
    (re.compile(r"(\d{4})[Qq]([1-4])"), "quarter"),
)
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def as_of_from_name(name: str) -> dt.date | None:
    """The as-of date a folder name carries: 2025-06-30, 20250630 or 2025Q2.

    >>> as_of_from_name("2025Q2"), as_of_from_name("batch_20250630")
    (datetime.date(2025, 6, 30), datetime.date(2025, 6, 30))
    """
    for pattern, how in _DATE_IN_NAME:
        m = pattern.search(name)
        if not m:
            continue
        try:
            if how == "quarter":
                month, day = _QUARTER_END[int(m[2])]
                return dt.date(int(m[1]), month, day)
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
    return None


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.toml"
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportRejected(
            f"{path.name}: 无法解析 (cannot parse manifest): {exc}", file=path.name
        ) from exc


def _batch_date(folder: Path, manifest: dict[str, Any]) -> dt.date:
    value = manifest.get("as_of")
    if value is not None:
        if isinstance(value, dt.date):
            return value
        parsed = parse_date(clean(str(value))) or as_of_from_name(str(value))
        if parsed is None:
            raise ImportRejected(
                f"manifest.toml: as_of 不是日期 (not a date): {value!r}",
                file="manifest.toml",
                field="as_of",
            )
        return parsed
    parsed = as_of_from_name(folder.name)
    if parsed is None:
        raise ImportRejected(
            f"{folder.name}: 无法确定数据截止日期 (cannot tell the as-of date): add manifest.toml "
            'with as_of = "YYYY-MM-DD" or name the folder 2025-06-30, 20250630 or 2025Q2',
            file=folder.name,
            field="as_of",
        )
    return parsed


# ---------------------------------------------------------------- kinds and headers


def kinds_in_name(name: str, sources: Sources) -> list[Kind]:
    """Kinds named (in English or Chinese) in a file or sheet name, longest names first."""
    lowered = name.lower()
    hits: list[tuple[int, Kind]] = []
    for kind in sources.kinds.values():
        length = max((len(n) for n in (kind.name, kind.label) if n.lower() in lowered), default=0)
        if length:
            hits.append((length, kind))
    if not hits:
        return []
    best = max(length for length, _ in hits)
    return [k for length, k in hits if length == best]


def _map_headers(cells: list[str], kind: Kind) -> dict[str, int]:
    lookup = kind.header_lookup()
    columns: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = lookup.get(header_key(cell))
        if name and name not in columns:
            columns[name] = i
    return columns


def _missing(kind: Kind, columns: dict[str, int]) -> list[Field]:
    return [f for f in kind.required if f.name not in columns]


def _header_candidates(sheet: Sheet) -> list[int]:
    return [
        i
        for i, (_, cells) in enumerate(sheet.rows[:HEADER_SEARCH_ROWS])
        if any(clean(c) for c in cells)
    ]


def _reject_missing(source_file: str, kind: Kind, sheet: Sheet) -> ImportRejected:
    best_i, best_cols = 0, {}
    for i in _header_candidates(sheet):
        cols = _map_headers(sheet.rows[i][1], kind)
        if len(cols) > len(best_cols):
            best_i, best_cols = i, cols
    missing = _missing(kind, best_cols)
    f = missing[0]
    accepted = "、".join(dict.fromkeys((f.name, *f.headers)))
    found = [clean(c) for c in sheet.rows[best_i][1] if clean(c)] if sheet.rows else []
    return ImportRejected(
        f"{source_file}: 缺少必填列 {f.name} ({kind.label}/{kind.name}); 可用的列名 "
        f"(accepted headers): {accepted}; 文件中的列 (headers found): {'、'.join(found) or '无'}",
        file=source_file,
        field=f.name,
    )


def locate_table(source_file: str, sheet: Sheet, sources: Sources, named: list[Kind]) -> Table:
    """Find the kind and header row of a sheet, or reject the file."""
    candidates = named or list(sources.kinds.values())
    best: list[tuple[int, int, Kind, dict[str, int]]] = []
    for i in _header_candidates(sheet):
        cells = sheet.rows[i][1]
        for kind in candidates:
            cols = _map_headers(cells, kind)
            if cols and not _missing(kind, cols):
                best.append((len(cols), -i, kind, cols))
        if best:
            break  # the header is the first row that carries a kind's required columns
    if not best:
        if len(named) == 1:
            raise _reject_missing(source_file, named[0], sheet)
        names = "、".join(f"{k.label}({k.name})" for k in candidates[:30])
        raise ImportRejected(
            f"{source_file}: 无法判断文件类型 (cannot tell the kind of file): 文件名和表头都不匹配; "
            f"可能的类型 (could be): {names}",
            file=source_file,
        )
    top = max(b[0] for b in best)
    winners = [b for b in best if b[0] == top]
    if len(winners) > 1:
        names = "、".join(f"{b[2].label}({b[2].name})" for b in winners)
        raise ImportRejected(
            f"{source_file}: 无法判断文件类型 (cannot tell the kind of file): 表头同时符合 "
            f"(headers fit) {names}; 请在文件名中写明类型 (name the kind in the file name)",
            file=source_file,
        )
    _, neg_i, kind, cols = winners[0]
    return Table(source_file, kind, sheet, -neg_i, cols, list(sheet.rows[-neg_i][1]))


def tables_of_file(path: Path, sources: Sources) -> list[Table]:
    """The tables of one file: a CSV, or the sheets of a workbook named after a
    kind (else its first sheet)."""
    name = path.name
    try:
        if path.suffix.lower() == ".csv":
            return [locate_table(name, read_csv(path), sources, kinds_in_name(path.stem, sources))]
        sheets = workbook_sheets(path)
        named_sheets = [(s, kinds_in_name(s, sources)) for s in sheets]
        named_sheets = [(s, k) for s, k in named_sheets if k]
        if not named_sheets:
            sheet = read_sheet(path, 0)
            return [locate_table(name, sheet, sources, kinds_in_name(path.stem, sources))]
        tables = []
        for s, kinds in named_sheets:
            label = name if len(named_sheets) == 1 else f"{name}:{s}"
            tables.append(locate_table(label, read_sheet(path, s), sources, kinds))
        return tables
    except UnreadableFile as exc:
        raise ImportRejected(f"{name}: 文件无法读取 (cannot be read): {exc}", file=name) from exc


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Context:
    as_of: dt.date
    region: str


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def check_value(f: Field, text: str, ctx: Context, sources: Sources) -> tuple[Any, str | None]:
    """(normalized value, reason) for one non-empty cell; reason None when fine."""
    t = f.type
    if t == "text":
        return text, None
    if t == "id":
        v = normalize_id(text)
        return (v, None) if v else (None, "invalid_id")
    if t == "uscc":
        v = normalize_uscc(text)
        return (v, None) if v else (None, "invalid_uscc")
    if t == "date":
        d = parse_date(text)
        if d is None or (f.required and d > ctx.as_of):
            return None, "invalid_date"
        return d, None
    if t == "number":
        n = parse_number(text)
        return (n, None) if n is not None else (None, "invalid_value")
    if t == "enum":
        v = sources.canonical(f.values or "", text)
        return (v, None) if v else (None, "invalid_value")
    if t == "address_code":
        if len(text) != 12 or not _digits(text):
            return None, "invalid_address_code"
        return (text, None) if text.startswith(ctx.region) else (text, "out_of_region")
    if t == "region_code":
        if not (6 <= len(text) <= 12 and _digits(text)):
            return None, "invalid_address_code"
        return text[:6], None
    if t == "division_code":
        if not (len(text) in (6, 9, 12) and _digits(text)):
            return None, "invalid_address_code"
        # Statistical codes pad streets and the county with zeros to 12 digits.
        if len(text) == 12 and text.endswith("000000"):
            text = text[:6]
        elif len(text) == 12 and text.endswith("000"):
            text = text[:9]
        return (text, None) if text.startswith(ctx.region) else (text, "out_of_region")
    raise ValueError(f"unknown field type {t}")


# ---------------------------------------------------------------- rows


def _is_total(cleaned: list[str]) -> bool:
    """A total row: one of its (cleaned) cells says 合计, 总计 or 小计."""
    for c in cleaned:
        if "计" in c and re.sub(r"\s+", "", c).rstrip(":：") in _TOTAL_WORDS:
            return True
    return False


def _raw_json(headers: list[str], cells: list[str]) -> str:
    raw: dict[str, str] = {}
    width = max(len(headers), len(cells))
    for i in range(width):
        key = headers[i] if i < len(headers) and headers[i] != "" else f"列{i + 1}"
        while key in raw:
            key += "#"
        raw[key] = cells[i] if i < len(cells) else ""
    return json.dumps(raw, ensure_ascii=False)


@dataclass
class KindState:
    """What a batch has accepted of one kind so far (across its files, in order)."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    keys: dict[tuple, tuple] = field(default_factory=dict)  # key -> the accepted row's values


class TableChecker:
    """Checks the rows of one table against the contract and what the batch
    already accepted of its kind.

    Values are checked column by column, each distinct value once; only the
    duplicate/conflict decision runs row by row, because it depends on the rows
    accepted before (settled reading: the earlier row stays)."""

    def __init__(
        self,
        table: Table,
        ctx: Context,
        sources: Sources,
        state: KindState,
        report: FileReport,
        issues: list[Issue],
    ) -> None:
        self.table, self.ctx, self.sources = table, ctx, sources
        self.state, self.report, self.issues = state, report, issues

    def _issue(
        self,
        row_number: int,
        cells: list[str],
        reason: str,
        severity: str,
        field_name: str,
        message: str,
        id_number: str,
    ) -> None:
        self.issues.append(
            Issue(
                self.table.source_file,
                row_number,
                self.table.kind.name,
                reason,
                id_number,
                _raw_json(self.table.headers, cells),
                severity,
                field_name,
                message,
            )
        )

    def run(self) -> None:
        t, kind = self.table, self.table.kind
        data = t.sheet.rows[t.header_row + 1 :]
        if not data:
            return
        # Short rows are padded with empty cells to the widest row (or the header).
        width = max(len(t.headers), max(len(c) for _, c in data))
        grid = pd.DataFrame(
            [c if len(c) == width else c + [""] * (width - len(c)) for _, c in data], dtype=object
        )
        columns = [clean_column(grid[i].tolist()) for i in range(width)]
        blank = np.logical_and.reduce([col == "" for col in columns])
        total = np.zeros(len(data), dtype=bool)
        for col in columns:
            has = pc.match_substring(pa.array(col, type=pa.string()), "计")
            for i in np.flatnonzero(has.to_numpy(zero_copy_only=False)):
                if re.sub(r"\s+", "", col[i]).rstrip(":：") in _TOTAL_WORDS:
                    total[i] = True
        # Blank and total rows are not data and are not read (settled reading).
        keep = np.flatnonzero(~blank & ~total)
        n = len(keep)
        self.report.read += n
        if n == 0:
            return
        numbers = np.array([data[i][0] for i in keep])
        fields = kind.fields
        no_error = len(REASONS)
        ranks = np.full((len(fields), n), no_error, dtype=np.int16)
        values: list[np.ndarray] = []
        compare: list[np.ndarray] = []
        warn: list[tuple[int, np.ndarray]] = []  # (field index, rows with an unreadable value)
        texts: list[np.ndarray] = []
        for j, f in enumerate(fields):
            col = t.columns.get(f.name)
            text = columns[col][keep] if col is not None else np.full(n, "", dtype=object)
            texts.append(text)
            empty = text == ""
            if f.required:
                ranks[j, empty] = _REASON_RANK["missing_value"]
            if f.type == "text":  # kept as written: nothing to check
                val = text.copy()
                val[empty] = None
                values.append(val)
                compare.append(val)
                continue
            uniques = [u for u in pd.unique(text) if u != ""]
            if f.type == "id":
                checked = {
                    u: (v, None) if v else (None, "invalid_id")
                    for u, v in zip(uniques, normalize_ids(uniques))
                }
            else:
                checked = {u: check_value(f, u, self.ctx, self.sources) for u in uniques}
            val = np.array([checked[v][0] if v != "" else None for v in text], dtype=object)
            cmp = val.copy()
            bad_optional = []
            failing = {u for u, (_, r) in checked.items() if r is not None}
            for i in np.flatnonzero([v in failing for v in text]) if failing else []:
                r = checked[text[i]][1]
                if f.required or r == "out_of_region":
                    ranks[j, i] = _REASON_RANK[r]
                else:
                    # An optional value that cannot be read never rejects the row:
                    # left empty, a warning, compared as written (settled reading).
                    val[i] = None
                    cmp[i] = ("unread", text[i])
                    bad_optional.append(i)
            if bad_optional:
                warn.append((j, np.array(bad_optional)))
            values.append(val)
            compare.append(cmp)
        first_rank = ranks.min(axis=0)
        first_field = ranks.argmin(axis=0)
        id_j = next(
            (j for j, f in enumerate(fields) if f.name in ("id_number", "operator_id_number")), None
        )

        def shown_id(i: int) -> str:
            if id_j is None:
                return ""
            return str(values[id_j][i] or texts[id_j][i] or "")

        def cells(i: int) -> list[str]:
            return data[keep[i]][1]

        key_j = [j for j, f in enumerate(fields) if f.name in kind.key]
        accepted = np.zeros(n, dtype=bool)
        for i, full in enumerate(zip(*compare)):
            if first_rank[i] < no_error:
                f = fields[first_field[i]]
                reason = REASONS[first_rank[i]]
                self.report.problems += 1
                self._issue(
                    int(numbers[i]),
                    cells(i),
                    reason,
                    "error",
                    f.name,
                    f"{f.name}: {reason}",
                    shown_id(i),
                )
                continue
            key = tuple(full[j] for j in key_j)
            earlier = self.state.keys.get(key)
            if earlier is None:
                self.state.keys[key] = full
                accepted[i] = True
            elif earlier == full:
                self.report.duplicates += 1
            else:
                self.report.problems += 1
                self._issue(
                    int(numbers[i]),
                    cells(i),
                    "conflict",
                    "error",
                    ",".join(kind.key),
                    "与前面已接收的同一主键记录不一致 (same key as an earlier row, other "
                    "values differ)",
                    shown_id(i),
                )
        self.report.accepted += int(accepted.sum())
        for j, rows in warn:
            f = fields[j]
            for i in rows[accepted[rows]]:
                self._warn(
                    int(numbers[i]),
                    cells(i),
                    _WARN_REASON.get(f.type, "invalid_value"),
                    f.name,
                    f"{f.name} 无法识别，已留空 (unreadable, left empty): {texts[j][i]}",
                    shown_id(i),
                )
        if kind.name == "hukou":
            g_j = next(j for j, f in enumerate(fields) if f.name == "gender")
            for i in np.flatnonzero(accepted):
                g, idn = values[g_j][i], values[id_j][i]
                if g and idn and g != id_gender(idn):
                    self._warn(
                        int(numbers[i]),
                        cells(i),
                        "gender_mismatch",
                        "gender",
                        f"性别与身份证号不符 (gender differs from the ID's): {g}",
                        shown_id(i),
                    )
        frame = pd.DataFrame({f.name: values[j][accepted] for j, f in enumerate(fields)})
        frame.insert(0, "row_number", numbers[accepted])
        frame.insert(0, "source_file", t.source_file)
        self.state.frames.append(frame)

    def _warn(
        self,
        row_number: int,
        cells: list[str],
        reason: str,
        fname: str,
        message: str,
        id_shown: str,
    ) -> None:
        self.report.warnings += 1
        self._issue(row_number, cells, reason, "warning", fname, message, id_shown)


# Warning reason for an optional value of each type that cannot be read.
_WARN_REASON = {
    "date": "invalid_date",
    "uscc": "invalid_uscc",
    "id": "invalid_id",
    "address_code": "invalid_address_code",
    "region_code": "invalid_address_code",
    "division_code": "invalid_address_code",
}


# ---------------------------------------------------------------- region


def _resolve_region(
    manifest: dict[str, Any], con: duckdb.DuckDBPyConnection, tables: list[Table]
) -> str:
    region = str(manifest.get("region_code") or "").strip()
    region = region or load_config().region_code or (store.get_meta(con, "region_code") or "")
    if not region:
        # A 6-digit code (or its 12-digit form) in the batch's division data names the county.
        for t in tables:
            if t.kind.name != "division":
                continue
            col = t.columns["code"]
            for _, cells in t.sheet.rows[t.header_row + 1 :]:
                code = clean(cells[col]) if col < len(cells) else ""
                if _digits(code) and (
                    len(code) == 6 or (len(code) == 12 and code.endswith("000000"))
                ):
                    return code[:6]
        # Else the county most residents' address codes name.
        counts: Counter[str] = Counter()
        for t in tables:
            if t.kind.name in ("hukou", "residence"):
                col = t.columns["address_code"]
                for _, cells in t.sheet.rows[t.header_row + 1 :]:
                    code = clean(cells[col]) if col < len(cells) else ""
                    if len(code) == 12 and _digits(code):
                        counts[code[:6]] += 1
        if counts:
            return counts.most_common(1)[0][0]
        raise ImportRejected(
            "无法确定本地区划代码 (cannot tell the region): add region_code to "
            "manifest.toml or the configuration",
            field="region_code",
        )
    if not (len(region) == 6 and _digits(region)):
        raise ImportRejected(
            f"region_code 应为6位数字 (must be 6 digits): {region!r}",
            file="manifest.toml",
            field="region_code",
        )
    known = store.get_meta(con, "region_code")
    if known and known != region:
        raise ImportRejected(
            f"本库的地区是 {known}，该批次是 {region} (this database holds region {known}, the "
            f"batch is for {region}): use another --db",
            field="region_code",
        )
    return region


# ---------------------------------------------------------------- boundaries


def read_boundaries(path: Path, region: str) -> tuple[list[dict[str, Any]], FileReport, list[str]]:
    """Features of a GeoJSON boundary file, with a report and the reasons of rejected features."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        features = data["features"] if data.get("type") == "FeatureCollection" else [data]
    except (ValueError, KeyError, AttributeError, UnicodeDecodeError) as exc:
        raise ImportRejected(
            f"{path.name}: 不是有效的 GeoJSON (not valid GeoJSON): {exc}", file=path.name
        ) from exc
    out, errors = [], []
    for i, feat in enumerate(features, start=1):
        props = feat.get("properties") or {}
        code = clean(str(props.get("code", "") or ""))
        name = clean(str(props.get("name", "") or ""))
        geom = feat.get("geometry")
        if len(code) == 12 and code.endswith("000"):
            code = code[:9]
        level = {6: "city", 9: "street", 12: "community"}.get(len(code))
        if not (code and _digits(code) and level and geom and code.startswith(region)):
            errors.append(f"feature {i}: code {code!r}")
            continue
        out.append(
            {
                "code": code,
                "name": name,
                "level": props.get("level") or level,
                "geometry": json.dumps(geom, ensure_ascii=False),
            }
        )
    report = FileReport(
        "",
        dt.date.min,
        path.name,
        "boundaries",
        read=len(features),
        accepted=len(out),
        problems=len(errors),
        encoding="geojson",
    )
    return out, report, errors


# ---------------------------------------------------------------- one batch


def _batch_files(folder: Path) -> tuple[list[Path], list[Path], list[str]]:
    tabular, geo, ignored = [], [], []
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if p.name.startswith((".", "~$")) or p.is_dir() or p.name == "manifest.toml":
            continue
        suffix = p.suffix.lower()
        if suffix in TABULAR:
            tabular.append(p)
        elif suffix in (".geojson", ".json"):
            geo.append(p)
        else:
            ignored.append(p.name)
    return tabular, geo, ignored


def read_batch(
    folder: Path, con: duckdb.DuckDBPyConnection, sources: Sources | None = None
) -> BatchResult:
    """Read and check one batch folder; nothing is written."""
    sources = sources or load_sources()
    if not folder.is_dir():
        raise ImportRejected(f"{folder}: 不是文件夹 (not a batch folder)", file=str(folder))
    manifest = _manifest(folder)
    as_of = _batch_date(folder, manifest)
    tabular, geo, ignored = _batch_files(folder)
    if not tabular and not geo:
        raise ImportRejected(
            f"{folder.name}: 没有可导入的文件 (no .csv/.xlsx/.geojson files)", file=folder.name
        )
    tables = [t for p in tabular for t in tables_of_file(p, sources)]
    region = _resolve_region(manifest, con, tables)
    result = BatchResult(folder.name, as_of, region, str(folder.resolve()))
    result.notices = [f"已忽略 (ignored, not a data file): {n}" for n in ignored]
    ctx = Context(as_of, region)
    states: dict[str, KindState] = {}
    for t in tables:
        report = FileReport(
            folder.name,
            as_of,
            t.source_file,
            t.kind.name,
            encoding=t.sheet.encoding,
            sheet=t.sheet.sheet,
            header_row=t.sheet.rows[t.header_row][0],
        )
        state = states.setdefault(t.kind.name, KindState())
        TableChecker(t, ctx, sources, state, report, result.issues).run()
        result.files.append(report)
    result.accepted = {
        k: pd.concat(s.frames, ignore_index=True) for k, s in states.items() if s.frames
    }
    if len(geo) > 1:
        raise ImportRejected(
            f"{folder.name}: 一个批次只能有一个边界文件 (one GeoJSON per batch): "
            + "、".join(p.name for p in geo),
            file=geo[1].name,
        )
    for p in geo:
        feats, report, errors = read_boundaries(p, region)
        report.batch, report.as_of = folder.name, as_of
        result.boundaries = feats
        result.files.append(report)
        result.issues += [
            Issue(p.name, 0, "boundaries", "invalid_address_code", "", e, "error", "code", e)
            for e in errors
        ]
    return result


# ---------------------------------------------------------------- writing


def _frame(kind: Kind, accepted: pd.DataFrame, as_of: dt.date, batch: str) -> pd.DataFrame:
    cols = [c for c, _ in store.kind_columns(kind)]
    df = accepted.copy()
    df.insert(0, "batch", batch)
    df.insert(0, "as_of", as_of)
    for f in kind.fields:
        if f.type == "date":
            df[f.name] = pd.to_datetime(df[f.name]).dt.date
        elif f.type == "number":
            df[f.name] = pd.to_numeric(df[f.name])
        else:
            df[f.name] = df[f.name].astype(object)
    return df[cols]


def _name_mismatch_sql(kind: Kind) -> str:
    """Warnings for rows of this batch whose name differs from the 户籍 name in force."""
    return f"""
        WITH hukou_in_force AS (
            SELECT id_number, name FROM src_hukou
            WHERE as_of = (SELECT max(as_of) FROM src_hukou WHERE as_of <= $as_of)
        )
        SELECT s.source_file, s.row_number, s.id_number, s.name AS name, h.name AS hukou_name
        FROM src_{kind.name} s JOIN hukou_in_force h USING (id_number)
        WHERE s.as_of = $as_of AND s.batch = $batch AND s.name IS NOT NULL
          AND s.name <> h.name
        ORDER BY s.source_file, s.row_number
    """


def write_batch(
    con: duckdb.DuckDBPyConnection, result: BatchResult, sources: Sources, seq: int
) -> None:
    """Replace, kind by kind, what the database holds for the batch's date."""
    kinds = sorted({f.kind for f in result.files})
    params = {"as_of": result.as_of, "batch": result.batch}
    for kind_name in kinds:
        con.execute(
            "DELETE FROM import_files WHERE as_of = $as_of AND kind = $kind",
            {"as_of": result.as_of, "kind": kind_name},
        )
        con.execute(
            "DELETE FROM problems WHERE as_of = $as_of AND kind = $kind",
            {"as_of": result.as_of, "kind": kind_name},
        )
        if kind_name in sources.kinds:
            # Visits recorded in the app (batch FIELD_BATCH) are not part of any
            # department file, so a file for the same date does not replace them.
            con.execute(
                f"DELETE FROM src_{kind_name} WHERE as_of = $as_of AND batch <> $field",
                {"as_of": result.as_of, "field": FIELD_BATCH},
            )
        elif kind_name == "boundaries":
            # Boundaries are replaced for their date like a kind, so that
            # importing the same batch again leaves the tables as they were.
            con.execute("DELETE FROM boundaries WHERE as_of = $as_of", {"as_of": result.as_of})
    for kind_name, rows in result.accepted.items():
        kind = sources.kinds[kind_name]
        df = _frame(kind, rows, result.as_of, result.batch)
        con.register("_incoming", df)
        con.execute(f"INSERT INTO src_{kind_name} SELECT * FROM _incoming")
        con.unregister("_incoming")
    # Name mismatches need the 户籍 in force, which this batch may have just replaced.
    reports = {(f.source_file, f.kind): f for f in result.files}
    for kind_name in result.accepted:
        kind = sources.kinds[kind_name]
        if kind_name == "hukou" or not kind.person or "name" not in [f.name for f in kind.fields]:
            continue
        for source_file, row_number, id_number, name, hukou_name in con.execute(
            _name_mismatch_sql(kind), params
        ).fetchall():
            result.issues.append(
                Issue(
                    source_file,
                    row_number,
                    kind_name,
                    "name_mismatch",
                    id_number,
                    json.dumps({"姓名": name, "户籍姓名": hukou_name}, ensure_ascii=False),
                    "warning",
                    "name",
                    f"姓名与户籍不符，保留户籍姓名 {hukou_name} (name differs from 户籍's): {name}",
                )
            )
            reports[(source_file, kind_name)].warnings += 1
    issues = pd.DataFrame([vars(i) for i in result.issues], columns=list(Issue.__annotations__))
    issues.insert(0, "as_of", result.as_of)
    issues.insert(0, "batch", result.batch)
    issues.insert(0, "import_seq", seq)
    con.register("_issues", issues)
    con.execute("""INSERT INTO problems SELECT import_seq, batch, as_of, source_file,
                   row_number::INTEGER, kind, reason, id_number, raw, severity, field, message
                   FROM _issues""")
    con.unregister("_issues")
    con.executemany(
        "INSERT INTO import_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                seq,
                f.batch,
                f.as_of,
                f.source_file,
                f.kind,
                f.read,
                f.accepted,
                f.duplicates,
                f.problems,
                f.warnings,
                f.encoding,
                f.sheet,
                f.header_row,
            ]
            for f in result.files
        ],
    )
    if result.boundaries:
        con.executemany(
            "INSERT INTO boundaries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    seq,
                    result.batch,
                    result.as_of,
                    next(f.source_file for f in result.files if f.kind == "boundaries"),
                    b["code"],
                    b["name"],
                    b["level"],
                    b["geometry"],
                ]
                for b in result.boundaries
            ],
        )
    con.execute(
        "INSERT INTO import_batches VALUES (?, ?, ?, ?, ?, ?, now())",
        [seq, result.batch, result.as_of, result.region_code, result.source_path, kinds],
    )
    store.set_meta(con, "region_code", result.region_code)


def expand_batches(paths: Iterable[Path], workdir: Path) -> list[Path]:
    """Batch folders from the arguments: folders, zip files, or a folder of batch folders."""
    out: list[Path] = []
    for p in paths:
        if p.is_file() and p.suffix.lower() == ".zip":
            target = workdir / p.stem
            try:
                with zipfile.ZipFile(p) as z:
                    z.extractall(target)
            except zipfile.BadZipFile as exc:
                raise ImportRejected(
                    f"{p.name}: 不是有效的 zip 文件 (bad zip): {exc}", file=p.name
                ) from exc
            inner = [d for d in target.iterdir() if not d.name.startswith((".", "__"))]
            if len(inner) == 1 and inner[0].is_dir():
                target = inner[0]
            out.extend(expand_batches([target], workdir) if not _has_data(target) else [target])
        elif p.is_dir() and not _has_data(p):
            subs = sorted(
                (d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".")),
                key=lambda d: d.name,
            )
            out.extend(subs if subs else [p])
        else:
            out.append(p)
    return out


def _has_data(folder: Path) -> bool:
    return any(
        f.is_file() and (f.suffix.lower() in TABULAR | {".geojson"} or f.name == "manifest.toml")
        for f in folder.iterdir()
    )


def import_batches(
    paths: Iterable[str | Path],
    db: str | Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> list[BatchResult]:
    """Import batch folders (or zips) in one transaction: all land, or none does."""
    sources = load_sources()
    con = store.connect(db)
    workdir = Path(tempfile.mkdtemp(prefix="kuomian-import-"))
    try:
        folders = expand_batches([Path(p) for p in paths], workdir)
        results: list[BatchResult] = []
        con.execute("BEGIN TRANSACTION")
        try:
            seq = store.scalar(con, "SELECT coalesce(max(import_seq), 0) FROM import_batches")
            for i, folder in enumerate(folders):
                if progress:
                    progress(f"读取 {folder.name}", i / max(len(folders), 1))
                result = read_batch(folder, con, sources)
                seq += 1
                write_batch(con, result, sources, seq)
                # Only the report is kept: a batch's rows would otherwise stay in
                # memory until the last batch of the command is written.
                result.accepted, result.boundaries, result.issues = {}, [], []
                results.append(result)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if progress:
            progress("完成", 1.0)
        return results
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)


REPORT_COLUMNS = [
    "batch",
    "as_of",
    "source_file",
    "kind",
    "read",
    "accepted",
    "duplicates",
    "problems",
    "warnings",
]


def report_frame(results: list[BatchResult]) -> pd.DataFrame:
    rows = [[getattr(f, c) for c in REPORT_COLUMNS] for r in results for f in r.files]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)
