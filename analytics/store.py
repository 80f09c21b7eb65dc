"""The embedded DuckDB database: where it lives, and the tables the importer fills.

One table per department kind, ``src_<kind>``: the accepted rows, normalized,
for every as-of date, each row carrying its batch, file and row number. Beside
them the accounting (``import_files``), problem data and warnings
(``problems``), the batches (``import_batches``), boundaries and ``meta``.
The registry build (``analytics/registry``) reads these and writes the marts.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from analytics.sources import Kind, Sources, load_sources

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "kuomian.duckdb"

_SQL_TYPE = {"date": "DATE", "number": "DOUBLE"}

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
-- One row per imported batch folder; import_seq orders imports in time.
CREATE TABLE IF NOT EXISTS import_batches (
    import_seq INTEGER, batch VARCHAR, as_of DATE, region_code VARCHAR,
    source_path VARCHAR, kinds VARCHAR[], imported_at TIMESTAMP);
-- One row per file (or sheet) of the batch in use for (as_of, kind).
CREATE TABLE IF NOT EXISTS import_files (
    import_seq INTEGER, batch VARCHAR, as_of DATE, source_file VARCHAR, kind VARCHAR,
    "read" INTEGER, accepted INTEGER, duplicates INTEGER, problems INTEGER, warnings INTEGER,
    encoding VARCHAR, sheet VARCHAR, header_row INTEGER);
-- Problem data (severity error: the row was not accepted) and warnings.
CREATE TABLE IF NOT EXISTS problems (
    import_seq INTEGER, batch VARCHAR, as_of DATE, source_file VARCHAR, row_number INTEGER,
    kind VARCHAR, reason VARCHAR, id_number VARCHAR, raw VARCHAR, severity VARCHAR,
    field VARCHAR, message VARCHAR);
-- Street and community boundaries (GeoJSON geometry as text), per import.
CREATE TABLE IF NOT EXISTS boundaries (
    import_seq INTEGER, batch VARCHAR, as_of DATE, source_file VARCHAR,
    code VARCHAR, name VARCHAR, level VARCHAR, geometry VARCHAR);
"""


def default_db() -> Path:
    """``$KUOMIAN_DB`` or ``data/kuomian.duckdb`` of the project."""
    return Path(os.environ.get("KUOMIAN_DB") or DEFAULT_DB)


def kind_table(kind: Kind) -> str:
    return f"src_{kind.name}"


def kind_columns(kind: Kind) -> list[tuple[str, str]]:
    """(column, SQL type) of a kind's table, bookkeeping columns first."""
    cols = [("as_of", "DATE"), ("batch", "VARCHAR"), ("source_file", "VARCHAR"),
            ("row_number", "INTEGER")]
    cols += [(f.name, _SQL_TYPE.get(f.type, "VARCHAR")) for f in kind.fields]
    return cols


def ensure_schema(con: duckdb.DuckDBPyConnection, sources: Sources | None = None) -> None:
    """Create missing tables and columns (a user's extension may add fields)."""
    sources = sources or load_sources()
    have: dict[str, set[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main'").fetchall():
        have.setdefault(table, set()).add(column)
    ddl = [BOOKKEEPING]
    for kind in sources.kinds.values():
        table = kind_table(kind)
        cols = kind_columns(kind)
        if table not in have:
            ddl.append(f"CREATE TABLE IF NOT EXISTS {table} ("
                       + ", ".join(f'"{c}" {t}' for c, t in cols) + ");")
        ddl += [f'ALTER TABLE {table} ADD COLUMN "{c}" {t};'
                for c, t in cols if table in have and c not in have[table]]
    # One query for the columns and one transaction for the DDL: statement by
    # statement, each connection paid a catalog query and a commit per table.
    con.begin()
    try:
        con.execute("\n".join(ddl))
        con.commit()
    except BaseException:
        con.rollback()
        raise


def connect(db: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the database file, with the import tables in place."""
    path = Path(db) if db else default_db()
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"数据库不存在 (database not found): {path}")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    ensure_schema(con)
    return con


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = one(con, "SELECT value FROM meta WHERE key = ?", [key])
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database file holds a table of that name (temporary ones aside)."""
    return bool(scalar(con, "SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = ? AND table_type = 'BASE TABLE'", [name]))


def one(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple | None:
    """The first row of a query (the result is read to the end, as DuckDB asks)."""
    rows = con.execute(sql, params).fetchall() if params is not None else \
        con.execute(sql).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> object:
    """The first value of the first row of a query, or None."""
    row = one(con, sql, params)
    return row[0] if row else None


# ---------------------------------------------------------------- registry versions

# The registry's own bookkeeping, beside the reg_<mart> snapshots the build writes:
# one row per version, the ranking model's report (training dates and sizes,
# validation metrics) and the goals the version was built with.
REGISTRY_DDL = """
CREATE TABLE IF NOT EXISTS registry_versions (
    version INTEGER, as_of DATE, built_at TIMESTAMP, data_seq INTEGER, code_hash VARCHAR,
    persons BIGINT, legal_population BIGINT, targets BIGINT, entities BIGINT, model VARCHAR);
CREATE TABLE IF NOT EXISTS model_reports (version INTEGER, as_of DATE, report VARCHAR);
-- Decimal goals, as the build computes the gaps with them (ceil(goal × n − k) exact).
CREATE TABLE IF NOT EXISTS registry_goals (
    version INTEGER, year INTEGER, coverage DECIMAL(18, 6), structure DECIMAL(18, 6));
"""


def ensure_registry_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the registry's bookkeeping tables that are missing."""
    con.execute(REGISTRY_DDL)
