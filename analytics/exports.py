"""``kuomian export``: the contract's CSV files, read from one registry version.

Columns come first exactly as shared/data-contract.md lists them; more follow.
Files are UTF-8 with a header row; rates are exact (no rounding); empty means
no value.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd

from analytics import store
from analytics.ingest import REPORT_COLUMNS
from analytics.registry.errors import BuildError
from analytics.registry.in_force import define_in_force
from analytics.registry.versions import version_for

TARGET_COLUMNS = [
    "id_number",
    "target_type",
    "groups",
    "street_code",
    "community_code",
    "score",
    "rank",
]
KPI_COLUMNS = [
    "code",
    "name",
    "legal_population",
    "insured",
    "coverage_rate",
    "contributors",
    "employee_contributors",
    "structure_ratio",
    "coverage_gap_2025",
    "structure_gap_2025",
    "coverage_gap_2035",
    "structure_gap_2035",
]
PROBLEM_COLUMNS = ["source_file", "row_number", "kind", "reason", "id_number", "raw", "severity"]
ENTITY_COLUMNS = ["uscc", "entity_name", "street_code", "tax_status", "employees", "reason"]
# `kuomian import` prints the same table as `export imports` (data contract).
IMPORT_COLUMNS = REPORT_COLUMNS


TARGETS_SQL = """
        SELECT id_number, target_type, nullif(groups_text, '') AS groups, street_code, community_code,
               score, rank, name, primary_group, reasons, action, action_rule,
               survey_result, last_survey_date, claim_to_verify, model
        FROM reg_targets_ranked WHERE version = ? ORDER BY rank"""


# The gap columns of goal years beyond the contract's 2025 and 2035: the build
# adds them to reg_kpi after its other columns, and the export writes them last.
GOAL_GAP_COLUMN = re.compile(r"(coverage|structure)_gap_\d{4}")


def kpi_sql(extra_columns: tuple[str, ...] = ()) -> str:
    """The kpi export's query: the contract's columns, then more, then ``extra_columns``."""
    # An area without a name is written as an empty field (not as a quoted "").
    extra = "".join(f", {c}" for c in extra_columns)
    return f"""
        SELECT {", ".join("nullif(name, '') AS name" if c == "name" else c for c in KPI_COLUMNS)},
               level, population, targets_enroll, targets_upgrade,
               targets_resume, target_entities{extra}
        FROM reg_kpi WHERE version = ? AND level = ? ORDER BY code"""


KPI_SQL = kpi_sql()


def other_goal_gap_columns(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The gap columns of reg_kpi for goal years other than the contract's, in table order."""
    cols = [r[0] for r in con.execute("DESCRIBE reg_kpi").fetchall()]
    return tuple(c for c in cols if GOAL_GAP_COLUMN.fullmatch(c) and c not in KPI_COLUMNS)


ENTITIES_SQL = f"""
        SELECT {", ".join(ENTITY_COLUMNS)}, community_code, entity_type, operator_id_number,
               registration_status
        FROM reg_entities WHERE version = ? ORDER BY uscc"""


# Problems and warnings of the files a registry for $d reads: the batch in force
# for each state kind and every batch up to it for the event kinds, by the
# build's own macro (registry/000_macro_in_force.sql; define_in_force first).
PROBLEMS_SQL = f"""
        SELECT {", ".join("p." + c for c in PROBLEM_COLUMNS)}, p.batch, p.as_of, p.field, p.message
        FROM problems p
        WHERE in_force(p.kind, p.as_of, $d)
        ORDER BY p.as_of, p.batch, p.source_file, p.row_number,
                 CASE p.severity WHEN 'error' THEN 0 ELSE 1 END, p.reason, p.field"""


# Every file ever imported: those in use, and those a later import for the same
# date replaced (in_use false), in the order they were imported.
IMPORTS_SQL = f"""
        SELECT {", ".join(IMPORT_COLUMNS)}, in_use, encoding, sheet, header_row
        FROM (SELECT *, true AS in_use FROM import_files
              UNION ALL BY NAME
              SELECT * EXCLUDE (replaced_seq), false AS in_use FROM import_files_replaced)
        ORDER BY as_of, batch, source_file, kind, import_seq"""


def problems_date(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> dt.date:
    """The date whose problems are listed: ``as_of``, else the current registry's
    date, else (nothing built yet) the newest import."""
    if as_of is not None:
        return as_of
    try:
        return version_for(con)[1]
    except BuildError:  # no registry built yet: the problems of the newest import
        latest = store.scalar(con, "SELECT max(as_of) FROM import_files")
        if latest is None:
            raise ValueError("数据库中没有已导入的批次 (nothing imported yet)") from None
        return latest


def imports_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The accounting of every imported file (the ``imports`` export's rows)."""
    return con.execute(IMPORTS_SQL).df()


def problems_frame(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> pd.DataFrame:
    """Problem data and warnings of the files the registry of ``as_of`` (default:
    the current one) reads: the ``problems`` export's rows; empty, with the
    contract's columns, before anything is imported."""
    if not store.scalar(con, "SELECT count(*) FROM import_files"):
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    define_in_force(con)
    return con.execute(PROBLEMS_SQL, {"d": problems_date(con, as_of)}).df()


# A text cell that Excel or WPS would read as a formula (or that becomes one once
# a leading tab or CR is trimmed, or full-width ＝＋－＠ folded) is written with one
# leading ' so that it shows as text (data contract, "Command line"). A plain
# decimal number (-12.5) stays as it is; "+1" does not (Excel would drop the +).
FORMULA_START = "^[=+\\-@\t\r＝＋－＠]"
PLAIN_NUMBER = "^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells made safe as :func:`safe_text_sql` makes an
    export's (for the app's own downloads)."""
    start, number = re.compile(FORMULA_START), re.compile(PLAIN_NUMBER)

    def cell(value: object) -> object:
        if isinstance(value, str) and start.match(value) and not number.match(value):
            return "'" + value
        return value

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(cell)
    return out


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A download's CSV: safe text cells, UTF-8 with a BOM (Excel and WPS on
    Chinese Windows read it as UTF-8)."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def safe_text_sql(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> str:
    """``sql`` with each text column's formula-like cells prefixed by one '."""
    describe = f"DESCRIBE ({sql})"
    columns = (
        con.execute(describe, params).fetchall() if params else con.execute(describe).fetchall()
    )
    select = []
    for name, type_, *_ in columns:
        col = '"' + name.replace('"', '""') + '"'
        if type_ == "VARCHAR":
            select.append(
                f"CASE WHEN regexp_matches({col}, '{FORMULA_START}') "
                f"AND NOT regexp_matches({col}, '{PLAIN_NUMBER}') "
                f"THEN chr(39) || {col} ELSE {col} END AS {col}"
            )
        else:
            select.append(col)
    return f"SELECT {', '.join(select)} FROM ({sql})"


def export(
    what: str, db: str | Path | None, out: Path, level: str = "city", as_of: dt.date | None = None
) -> int:
    """Write one export CSV; returns the number of rows."""
    with store.reading(db or store.default_db()) as con:
        if what == "imports":
            sql, params = IMPORTS_SQL, []
        elif what == "problems":
            define_in_force(con)
            sql, params = PROBLEMS_SQL, {"d": problems_date(con, as_of)}
        else:
            version, _ = version_for(con, as_of)
            if what == "targets":
                sql, params = TARGETS_SQL, [version]
            elif what == "kpi":
                sql, params = kpi_sql(other_goal_gap_columns(con)), [version, level]
            elif what == "entities":
                sql, params = ENTITIES_SQL, [version]
            else:
                raise ValueError(f"unknown export {what!r}")
        out.parent.mkdir(parents=True, exist_ok=True)
        rel = con.sql(safe_text_sql(con, sql, params), params=params)
        # DuckDB writes integers as integers, NULL as empty and doubles exactly.
        rel.to_csv(str(out), header=True, sep=",")
        return store.scalar(con, f"SELECT count(*) FROM ({sql})", params)
