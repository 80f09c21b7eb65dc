"""The contract's checks, set-based: each table's cells are cleaned in SQL, each
field's distinct values are checked once, and the verdicts joined back to the
rows as a table with, per field j, its value ``v{j}``, the text of an optional
value that could not be read ``u{j}``, and the rank ``r{j}`` of its problem.

Distinct values of IDs are checked in SQL (GB 11643 with integer arithmetic:
an ID column has as many values as rows); the other types have few distinct
values and are checked by the same Python functions the rest of the project
uses, so that every reading stays exactly theirs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from analytics.ids import (
    ID_CHECK,
    ID_WEIGHTS,
    MIN_BIRTH_YEAR,
    USCC_CHARS,
    USCC_WEIGHTS,
    normalize_uscc,
)
from analytics.ingest.loading import Table
from analytics.ingest.records import NO_PROBLEM, REASON_RANK
from analytics.sources import Field, Kind, Sources
from analytics.textnorm import _FOLD, _TRIM, parse_date, parse_number

TOTAL_WORDS = ("合计", "总计", "小计")
_FULL_WIDTH = "[\\x{ff01}-\\x{ff5e}\\x{3000}]"
_ASCII_TRIM = "".join(ch for ch in _TRIM if ch.isascii())
_TRIM_CLASS = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in _TRIM) + "]"
# A non-ASCII cell needs cleaning when it starts or ends with what is trimmed or holds
# full-width text.
_NEEDS_CLEANING = f"^{_TRIM_CLASS}|{_TRIM_CLASS}$|{_FULL_WIDTH}"
# What Python's \s matches in a str pattern (textnorm and the old row loop used it).
_WHITESPACE = (
    "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]"
)
FOLD_PARAMS = {
    "trim": _TRIM,
    "fw": "".join(chr(c) for c in _FOLD),
    "hw": "".join(chr(c) for c in _FOLD.values()),
}
SQL_TYPE = {"date": "DATE", "number": "DOUBLE"}
_ARROW_TYPE = {"date": pa.date32(), "number": pa.float64()}


@dataclass(frozen=True)
class Context:
    as_of: dt.date
    region: str


def _any_edge(col: str, chars: str) -> str:
    return " OR ".join(
        f"prefix({col}, chr({ord(ch)})) OR suffix({col}, chr({ord(ch)}))" for ch in chars
    )


def clean_sql(col: str) -> str:
    """SQL for :func:`analytics.textnorm.clean` of a cell: trimmed, and folded when
    it holds full-width text. Trimming with a set of characters and translating
    are slow in DuckDB, so cheap tests pass over the cells that need neither: an
    ASCII cell needs no folding, and only its ASCII edges can need trimming."""
    trimmed = f"trim({col}, $trim)"
    folded = (
        f"CASE WHEN regexp_matches({trimmed}, '{_FULL_WIDTH}') "
        f"THEN trim(translate({trimmed}, $fw, $hw), $trim) ELSE {trimmed} END"
    )
    return f"""CASE WHEN {col} IS NULL THEN ''
        WHEN strlen({col}) = length({col})
        THEN CASE WHEN {_any_edge(col, _ASCII_TRIM)} THEN {trimmed} ELSE {col} END
        WHEN regexp_matches({col}, '{_NEEDS_CLEANING}') THEN {folded}
        ELSE {col} END"""


def _blank_sql(col: str) -> str:
    """Whether a raw cell cleans to '' (it holds nothing but what is trimmed, so it
    starts with what is trimmed)."""
    starts = " OR ".join(f"prefix({col}, chr({ord(ch)}))" for ch in _TRIM)
    return f"(coalesce({col}, '') = '' OR (({starts}) AND trim({col}, $trim) = ''))"


def _total_sql(col: str, cleaned: str) -> str:
    """Whether a cell says 合计, 总计 or 小计 (spaces and a trailing colon aside)."""
    return (
        f"CASE WHEN contains({col}, '计') THEN "
        f"rtrim(regexp_replace({cleaned}, '{_WHITESPACE}', '', 'g'), ':：') IN {TOTAL_WORDS} "
        "ELSE false END"
    )


def data_rows_sql(t: Table) -> str:
    """The rows of ``t.raw`` below the header that are data: not blank, not a total
    (settled reading: neither is read)."""
    cells = [f"c{i}" for i in range(t.width)]
    blank = " AND ".join(_blank_sql(c) for c in cells) or "true"
    total = " OR ".join(_total_sql(c, clean_sql(c)) for c in cells) or "false"
    return f"pos > {int(t.located.header_index)} AND NOT ({blank}) AND NOT ({total})"


def may_warn(f: Field) -> bool:
    """Whether a field can hold an optional value that could not be read: such a
    value is left empty, and compared as written (column ``u{j}``)."""
    return not f.required and f.type != "text"


def compared_columns(kind: Kind, names: tuple[str, ...] | None = None) -> list[str]:
    """The columns of checked rows that decide whether two rows are equal (on ``names``)."""
    out = []
    for j, f in enumerate(kind.fields):
        if names is None or f.name in names:
            out += [f"v{j}", f"u{j}"] if may_warn(f) else [f"v{j}"]
    return out


def check_value(f: Field, text: str, ctx: Context, sources: Sources) -> tuple[Any, str | None]:
    """(normalized value, reason) for one non-empty cell; reason None when fine."""
    t = f.type
    if t == "text":
        return text, None
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


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# Rules of the task kind (任务分解, data contract "Task files") that sources.toml's
# field types cannot say, by (kind, field): each gives (value, reason) for a cleaned,
# non-empty cell, and a reason always rejects the row, an optional task too (a task
# that is not a non-negative whole number is invalid_value; only an empty task
# falls back to the default rule).
def _street(text: str, ctx: Context) -> tuple[Any, str | None]:
    """A street of the region: 9 digits, or a 12-digit code counted by its first 9."""
    if not (len(text) in (9, 12) and _digits(text)):
        return None, "invalid_address_code"
    street = text[:9]
    return (street, None) if street.startswith(ctx.region) else (street, "out_of_region")


_YEAR = re.compile(r"^(\d{4})(?:\.0+)?\s*(?:年度?)?$")


def _year(text: str, ctx: Context) -> tuple[Any, str | None]:
    """A year: 2025, 2025年 or 2025年度 (a number cell of a workbook: 2025.0)."""
    m = _YEAR.match(text)
    if m is None or not 1900 <= int(m[1]) <= 2100:
        return None, "invalid_value"
    return float(m[1]), None


def _whole(text: str, ctx: Context) -> tuple[Any, str | None]:
    """A non-negative whole number (120, 1,200, 120人, 1.2万)."""
    n = parse_number(text)
    if n is None or not math.isfinite(n) or n < 0 or n != int(n):
        return None, "invalid_value"
    return float(n), None


REFINED = {
    ("task", "street_code"): _street,
    ("task", "year"): _year,
    ("task", "coverage_task"): _whole,
    ("task", "structure_task"): _whole,
}
# Optional fields of which a row must fill at least one (else missing_value, in
# the first of them): a task row with neither task says nothing.
ONE_OF = {"task": ("coverage_task", "structure_task")}


def _verdict(f: Field, reason: str | None) -> tuple[int, bool]:
    """(problem rank, warning) of a checked value: an optional value that cannot be
    read never rejects the row — left empty, a warning (settled reading)."""
    if reason is None:
        return NO_PROBLEM, False
    if f.required or reason == "out_of_region":
        return REASON_RANK[reason], False
    return NO_PROBLEM, True


def id_layers(k: str, j: int) -> list[str]:
    """GB 11643 as successive SELECT lists over a cleaned cell ``k``, ending in
    ``idv{j}``, the 18-digit ID or NULL: 18 digits (or 17 and X) with a real birth
    date and the right check digit, or 15 digits upgraded (19 after the address
    code, check digit computed). Integer arithmetic on the first 17 digits; each
    list adds columns to the one before (DuckDB macros would expand textually)."""
    n = f"n{j}"
    digits = " + ".join(f"(({n} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(ID_WEIGHTS))
    y, m, d = f"y{j}", f"mo{j}", f"dd{j}"
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    days = (
        f"CASE WHEN {m} IN (1, 3, 5, 7, 8, 10, 12) THEN 31 WHEN {m} IN (4, 6, 9, 11) THEN 30 "
        f"WHEN {leap} THEN 29 ELSE 28 END"
    )
    return [
        f"""*, CASE WHEN regexp_full_match({k}, '[0-9]{{17}}[0-9Xx]') THEN substr({k}, 1, 17)
                    WHEN regexp_full_match({k}, '[0-9]{{15}}')
                    THEN substr({k}, 1, 6) || '19' || substr({k}, 7) END AS id17_{j},
               CASE WHEN length({k}) = 18 THEN upper(substr({k}, 18, 1)) END AS last{j}""",
        f"*, id17_{j}::BIGINT AS {n}",
        f"""*, substr('{ID_CHECK}', (({digits}) % 11)::INTEGER + 1, 1) AS chk{j},
               ({n} // 1000) % 100000000 AS ymd{j}""",
        f"*, ymd{j} // 10000 AS {y}, (ymd{j} // 100) % 100 AS {m}, ymd{j} % 100 AS {d}",
        f"""*, CASE WHEN id17_{j} IS NOT NULL AND (last{j} IS NULL OR last{j} = chk{j})
                     AND {y} >= {MIN_BIRTH_YEAR} AND {m} BETWEEN 1 AND 12
                     AND {d} BETWEEN 1 AND {days}
                THEN id17_{j} || chk{j} END AS idv{j}""",
    ]


def _value_map(
    con: duckdb.DuckDBPyConnection,
    t: Table,
    col: int,
    f: Field,
    ctx: Context,
    sources: Sources,
    name: str = "",
) -> str:
    """A table (raw, k, v, rank, warn): each distinct cell of a column as written,
    cleaned, and the verdict on it; cells that clean to '' are left out. It is
    ``name`` when given (a table of another database), else a temporary table."""
    table_name = name or f"_ingest_map_{t.seq}_{f.name}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ingest_values AS
            SELECT raw, k FROM (SELECT raw, {clean_sql("raw")} AS k
                                FROM (SELECT DISTINCT c{col} AS raw FROM {t.raw}
                                      WHERE pos > $header AND c{col} IS NOT NULL))
            WHERE k <> ''""",
        {**FOLD_PARAMS, "header": t.located.header_index},
    )
    refined = REFINED.get((t.kind.name, f.name))
    # Credit codes have about as many values as rows: the ASCII ones are checked in SQL.
    in_sql = f.type == "uscc" and refined is None
    ascii_only = "strlen(k) = length(k)"
    pairs = con.execute(
        f"SELECT raw, k FROM _ingest_values WHERE NOT ({ascii_only})"
        if in_sql
        else "SELECT raw, k FROM _ingest_values"
    ).fetchall()
    verdicts: dict[str, tuple[Any, int, bool]] = {}
    for _, k in pairs:
        if k not in verdicts:
            if refined is not None:
                v, reason = refined(k, ctx)
                verdicts[k] = (v, REASON_RANK[reason] if reason else NO_PROBLEM, False)
                continue
            v, reason = check_value(f, k, ctx, sources)
            verdicts[k] = (v, *_verdict(f, reason))
    table = pa.table(
        {
            "raw": pa.array([r for r, _ in pairs], pa.string()),
            "k": pa.array([k for _, k in pairs], pa.string()),
            "v": pa.array([verdicts[k][0] for _, k in pairs], _ARROW_TYPE.get(f.type, pa.string())),
            "rank": pa.array([verdicts[k][1] for _, k in pairs], pa.int16()),
            "warn": pa.array([verdicts[k][2] for _, k in pairs], pa.bool_()),
        }
    )
    con.register("_ingest_checked", table)
    temp = "" if name else "TEMP "
    checked = "SELECT * FROM _ingest_checked"
    if in_sql:
        bad, warn = _verdict(f, "invalid_uscc")
        checked += f""" UNION ALL
            SELECT raw, k, CASE WHEN ok THEN u END,
                   (CASE WHEN ok THEN {NO_PROBLEM} ELSE {bad} END)::SMALLINT,
                   NOT ok AND {warn}
            FROM (SELECT raw, k, u, {uscc_ok_sql("u")} AS ok
                  FROM (SELECT raw, k, upper(k) AS u FROM _ingest_values WHERE {ascii_only}))"""
    con.execute(f"CREATE OR REPLACE {temp}TABLE {table_name} AS {checked}")
    con.unregister("_ingest_checked")
    return table_name


def uscc_ok_sql(u: str) -> str:
    """Whether an upper-cased ASCII cell ``u`` is a credit code by GB 32100, as
    :func:`analytics.ids.normalize_uscc` checks it: 18 characters of the code's
    alphabet, the last the check character of the first 17."""
    chars = f"'{USCC_CHARS}'"
    alphabet = "".join(sorted(set(USCC_CHARS)))
    total = " + ".join(
        f"(instr({chars}, substr({u}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS)
    )
    return f"""(regexp_full_match({u}, '[{re.escape(alphabet)}]{{18}}')
        AND substr({u}, 18, 1) = substr({chars}, ((31 - ({total}) % 31) % 31) + 1, 1))"""


def _region_free(t: Table, f: Field) -> bool:
    """Whether the verdicts on a field's values do not depend on the batch's region."""
    if f.type in ("text", "id"):
        return False  # checked in the table's query, not through a value map
    if (t.kind.name, f.name) in REFINED:
        return REFINED[t.kind.name, f.name] is not _street
    return f.type in ("uscc", "date", "number", "enum", "region_code")


def early_value_maps(
    con: duckdb.DuckDBPyConnection,
    t: Table,
    as_of: dt.date,
    sources: Sources,
    name: Callable[[str], str],
) -> dict[str, str]:
    """The value maps of a table's fields whose verdicts do not depend on the region
    (made before the batch's region is known, while the batch before it is checked),
    each the table ``name(field)``; by field name."""
    ctx = Context(as_of, "")
    out = {}
    for f in t.kind.fields:
        col = t.located.columns.get(f.name)
        if col is not None and _region_free(t, f):
            out[f.name] = _value_map(con, t, col, f, ctx, sources, name(f.name))
    return out


def id_field(t: Table) -> int | None:
    """The field whose value is shown as the row's ID in problem data."""
    return next(
        (j for j, f in enumerate(t.kind.fields) if f.name in ("id_number", "operator_id_number")),
        None,
    )


def _none_of_sql(t: Table, names: tuple[str, ...]) -> str:
    """Whether a row leaves every field of ``names`` empty (a column the file lacks is
    empty; a checked field's cell is empty when it has no entry in its value map)."""
    parts = []
    for j, f in enumerate(t.kind.fields):
        if f.name in names and f.name in t.located.columns:
            parts.append(f"t{j} = ''" if f.type in ("text", "id") else f"m{j}.raw IS NULL")
    return " AND ".join(parts) or "true"


def check_table(
    con: duckdb.DuckDBPyConnection,
    t: Table,
    ctx: Context,
    sources: Sources,
    maps: dict[str, str] | None = None,
) -> str:
    """A query for the checked data rows of a table (its value maps are made here,
    but for those in ``maps``, by field): per field its value ``v{j}`` (and ``u{j}``,
    see :func:`may_warn`); the row's first problem ``m`` (its rank, NO_PROBLEM when
    none) in field ``ff``; the ID shown ``sid``."""
    inner, fields, joins, layers = ["pos", "row_number"], [], [], []
    one_of = ONE_OF.get(t.kind.name, ())
    for j, f in enumerate(t.kind.fields):
        col = t.located.columns.get(f.name)
        u = may_warn(f)
        empty = REASON_RANK["missing_value"] if f.required else NO_PROBLEM
        if f.name in one_of:
            empty = f"CASE WHEN {_none_of_sql(t, one_of)} THEN {REASON_RANK['missing_value']} ELSE {NO_PROBLEM} END"
        if col is None:
            sql_type = SQL_TYPE.get(f.type, "VARCHAR")
            absent = empty if f.name in one_of else str(NO_PROBLEM)
            fields.append((f"NULL::{sql_type}", "NULL::VARCHAR" if u else None, absent))
        elif f.type == "text":
            inner.append(f"{clean_sql(f'c{col}')} AS t{j}")
            r = f"CASE WHEN t{j} = '' THEN {empty} ELSE {NO_PROBLEM} END"
            fields.append((f"nullif(t{j}, '')", None, r))
        elif f.type == "id":
            # An ID column has about as many values as rows: checked in place.
            inner.append(f"{clean_sql(f'c{col}')} AS t{j}")
            layers += id_layers(f"t{j}", j)
            bad = REASON_RANK["invalid_id"] if f.required else NO_PROBLEM
            unread = f"CASE WHEN t{j} <> '' AND idv{j} IS NULL THEN t{j} END"
            r = f"CASE WHEN t{j} = '' THEN {empty} WHEN idv{j} IS NULL THEN {bad} ELSE {NO_PROBLEM} END"
            fields.append((f"idv{j}", unread if u else None, r))
        else:
            if f"c{col}" not in inner:
                inner.append(f"c{col}")
            made = (maps or {}).get(f.name) or _value_map(con, t, col, f, ctx, sources)
            joins.append(f"LEFT JOIN {made} m{j} ON m{j}.raw = d.c{col}")
            fields.append(
                (
                    f"CASE WHEN m{j}.warn THEN NULL ELSE m{j}.v END",
                    f"CASE WHEN m{j}.warn THEN m{j}.k END" if u else None,
                    f"coalesce(m{j}.rank, {empty})",
                )
            )
    selects = []
    for j, (v, u, r) in enumerate(fields):
        selects += [f"{v} AS v{j}", f"{r} AS r{j}"] + ([f"{u} AS u{j}"] if u else [])
    id_j = id_field(t)
    if id_j is not None and t.kind.fields[id_j].name in t.located.columns:
        sid = f"coalesce(v{id_j}, nullif(id_text, ''), '')"
        selects.append(f"t{id_j} AS id_text")
    else:
        sid = "''"
    if t.malformed:
        # The record is not well formed: it is a problem whatever its cells say.
        inner.append("malformed")
        bad = REASON_RANK["malformed_row"]
        selects.append(f"CASE WHEN d.malformed THEN {bad} ELSE {NO_PROBLEM} END AS rm")
    n = len(t.kind.fields)
    ranks = ", ".join([f"r{j}" for j in range(n)] + (["rm"] if t.malformed else []))
    first = " ".join(f"WHEN r{j} = m THEN {j}" for j in range(n))
    keep = ", ".join(["seq", "pos", "row_number", *compared_columns(t.kind)])
    data = f"(SELECT {', '.join(inner)} FROM {t.raw} WHERE {data_rows_sql(t)})"
    for layer in layers:
        data = f"(SELECT {layer} FROM {data})"
    return f"""SELECT {keep}, m, CASE {first} END AS ff, {sid} AS sid
            FROM (SELECT *, least({ranks}) AS m
                  FROM (SELECT {t.seq} AS seq, d.pos, d.row_number, {", ".join(selects)}
                        FROM {data} d
                        {" ".join(joins)}))"""
