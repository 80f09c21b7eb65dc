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
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from analytics.ids import ID_CHECK, ID_WEIGHTS, MIN_BIRTH_YEAR, normalize_uscc
from analytics.ingest.loading import Table
from analytics.ingest.records import NO_PROBLEM, REASON_RANK
from analytics.sources import Field, Sources
from analytics.textnorm import _FOLD, _TRIM, parse_date, parse_number

TOTAL_WORDS = ("合计", "总计", "小计")
_FULL_WIDTH = "[\\x{ff01}-\\x{ff5e}\\x{3000}]"
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


def clean_sql(col: str) -> str:
    """SQL for textnorm.clean of a cell: trimmed, and folded when it holds full-width text."""
    t = f"trim(coalesce({col}, ''), $trim)"
    return (
        f"CASE WHEN regexp_matches({t}, '{_FULL_WIDTH}') "
        f"THEN trim(translate({t}, $fw, $hw), $trim) ELSE {t} END"
    )


def _total_sql(k: str) -> str:
    return (
        f"(contains({k}, '计') AND rtrim(regexp_replace({k}, '{_WHITESPACE}', '', 'g'), ':：') "
        f"IN {TOTAL_WORDS})"
    )


def clean_table(con: duckdb.DuckDBPyConnection, t: Table) -> str:
    """The rows below the header that are data (not blank, not a total), cleaned;
    ``k{i}`` is column i as :func:`analytics.textnorm.clean` gives it."""
    name = f"_ingest_clean_{t.seq}"
    ks = [f"k{i}" for i in range(t.width)]
    cleaned = ", ".join(f"{clean_sql(f'c{i}')} AS k{i}" for i in range(t.width))
    blank = " AND ".join(f"{k} = ''" for k in ks) or "true"
    total = " OR ".join(_total_sql(k) for k in ks) or "false"
    keep = sorted(set(t.located.columns.values()))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT pos, row_number{"".join(f", k{i}" for i in keep)}
            FROM (SELECT pos, row_number{", " if cleaned else ""}{cleaned}
                  FROM {t.raw} WHERE pos > $header)
            WHERE NOT ({blank}) AND NOT ({total})
            ORDER BY pos""",
        {**FOLD_PARAMS, "header": t.located.header_index},
    )
    return name


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


def _verdict(f: Field, reason: str | None) -> tuple[int, bool]:
    """(problem rank, warning) of a checked value: an optional value that cannot be
    read never rejects the row — left empty, a warning (settled reading)."""
    if reason is None:
        return NO_PROBLEM, False
    if f.required or reason == "out_of_region":
        return REASON_RANK[reason], False
    return NO_PROBLEM, True


def _id_sql(required: bool) -> str:
    """GB 11643 over the distinct values ``u`` of ``_ingest_values``: 18 digits (or
    17 and X) with a real birth date and the right check digit, or 15 digits
    upgraded (19 after the address code, check digit computed)."""
    digits = " + ".join(f"((n // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(ID_WEIGHTS))
    leap = "((y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0)"
    days = (
        "CASE WHEN m IN (1, 3, 5, 7, 8, 10, 12) THEN 31 WHEN m IN (4, 6, 9, 11) THEN 30 "
        f"WHEN {leap} THEN 29 ELSE 28 END"
    )
    bad_rank = REASON_RANK["invalid_id"] if required else NO_PROBLEM
    return f"""
        WITH a AS (
            SELECT u,
                   CASE WHEN regexp_full_match(u, '[0-9]{{17}}[0-9Xx]') THEN substr(u, 1, 17)
                        WHEN regexp_full_match(u, '[0-9]{{15}}')
                        THEN substr(u, 1, 6) || '19' || substr(u, 7) END AS id17,
                   CASE WHEN length(u) = 18 THEN upper(substr(u, 18, 1)) END AS last
            FROM _ingest_values),
        b AS (SELECT *, id17::BIGINT AS n FROM a),
        c AS (SELECT *, substr('{ID_CHECK}', (({digits}) % 11)::INTEGER + 1, 1) AS chk,
                     (n // 1000) % 100000000 AS ymd FROM b),
        d AS (SELECT *, ymd // 10000 AS y, (ymd // 100) % 100 AS m, ymd % 100 AS dd FROM c),
        e AS (SELECT u, CASE WHEN id17 IS NOT NULL AND (last IS NULL OR last = chk)
                              AND y >= {MIN_BIRTH_YEAR} AND m BETWEEN 1 AND 12
                              AND dd BETWEEN 1 AND {days}
                         THEN id17 || chk END AS v FROM d)
        SELECT u, v, CASE WHEN v IS NULL THEN {bad_rank} ELSE {NO_PROBLEM} END AS rank,
               v IS NULL AND NOT {required} AS warn
        FROM e"""


def _value_map(
    con: duckdb.DuckDBPyConnection, clean: str, col: int, f: Field, ctx: Context, sources: Sources
) -> str:
    """A table (u, v, rank, warn): the verdict on each distinct value of a column."""
    name = f"_ingest_map_{clean}_{f.name}"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _ingest_values AS SELECT DISTINCT k{col} AS u "
        f"FROM {clean} WHERE k{col} <> ''"
    )
    if f.type == "id":
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {_id_sql(f.required)}")
        return name
    values = [u for (u,) in con.execute("SELECT u FROM _ingest_values").fetchall()]
    checked = [check_value(f, u, ctx, sources) for u in values]
    verdicts = [_verdict(f, r) for _, r in checked]
    table = pa.table(
        {
            "u": pa.array(values, pa.string()),
            "v": pa.array([v for v, _ in checked], _ARROW_TYPE.get(f.type, pa.string())),
            "rank": pa.array([r for r, _ in verdicts], pa.int16()),
            "warn": pa.array([w for _, w in verdicts], pa.bool_()),
        }
    )
    con.register("_ingest_checked", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _ingest_checked")
    con.unregister("_ingest_checked")
    return name


def id_field(t: Table) -> int | None:
    """The field whose value is shown as the row's ID in problem data."""
    return next(
        (j for j, f in enumerate(t.kind.fields) if f.name in ("id_number", "operator_id_number")),
        None,
    )


def check_table(con: duckdb.DuckDBPyConnection, t: Table, ctx: Context, sources: Sources) -> str:
    """The checked rows of a table: per field ``v{j}``, ``u{j}``, ``r{j}``; the row's
    first problem ``m`` (its rank) in field ``ff``; the ID shown ``sid``."""
    clean = clean_table(con, t)
    selects, joins = [], []
    for j, f in enumerate(t.kind.fields):
        col = t.located.columns.get(f.name)
        sql_type = SQL_TYPE.get(f.type, "VARCHAR")
        if col is None:
            selects.append(f"NULL::{sql_type} AS v{j}, NULL::VARCHAR AS u{j}, {NO_PROBLEM} AS r{j}")
            continue
        k = f"c.k{col}"
        empty = REASON_RANK["missing_value"] if f.required else NO_PROBLEM
        if f.type == "text":
            selects.append(
                f"nullif({k}, '') AS v{j}, NULL::VARCHAR AS u{j}, "
                f"CASE WHEN {k} = '' THEN {empty} ELSE {NO_PROBLEM} END AS r{j}"
            )
            continue
        table = _value_map(con, clean, col, f, ctx, sources)
        joins.append(f"LEFT JOIN {table} m{j} ON m{j}.u = {k}")
        selects.append(
            f"CASE WHEN m{j}.warn THEN NULL ELSE m{j}.v END AS v{j}, "
            f"CASE WHEN m{j}.warn THEN {k} END AS u{j}, "
            f"CASE WHEN {k} = '' THEN {empty} ELSE m{j}.rank END AS r{j}"
        )
    id_j = id_field(t)
    if id_j is not None and t.kind.fields[id_j].name in t.located.columns:
        id_col = t.located.columns[t.kind.fields[id_j].name]
        sid = f"coalesce(v{id_j}, nullif(id_text, ''), '')"
        id_text = f", c.k{id_col} AS id_text"
    else:
        sid, id_text = "''", ", '' AS id_text"
    n = len(t.kind.fields)
    ranks = ", ".join(f"r{j}" for j in range(n))
    first = " ".join(f"WHEN r{j} = m THEN {j}" for j in range(n))
    name = f"_ingest_chk_{t.seq}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT *, CASE {first} END AS ff, {sid} AS sid
            FROM (SELECT *, least({ranks}) AS m
                  FROM (SELECT {t.seq} AS seq, c.pos, c.row_number, {", ".join(selects)}{id_text}
                        FROM {clean} c {" ".join(joins)}))
            ORDER BY pos"""
    )
    con.execute(f"DROP TABLE {clean}")
    return name
