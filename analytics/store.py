"""The one owner of the databases: where they live, how they are opened and
locked, and every table's DDL. The layout is written down in
``docs/architecture.md``.

Two stores:

- **The registry database** (DuckDB, ``data/kuomian.duckdb``): one table per
  department kind, ``src_<kind>`` (the accepted rows, normalized, for every
  as-of date, each row carrying its batch, file and row number), the
  accounting (``import_files``), problem data and warnings (``problems``), the
  batches (``import_batches``), boundaries and ``meta``; the registry build
  (``analytics/registry``) reads these and writes the versions it publishes.
  Written only by ``kuomian import`` / ``kuomian build``.
- **The app store** (SQLite, beside it: ``data/kuomian.app.sqlite``): what the
  app writes while serving — field visits and the audit log. SQLite because
  many processes (the app's sessions, the command line) write it at once, each
  a short transaction, and none of them may wait for an import or a build.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from analytics import published
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
-- The accounting of files a later import for the same date replaced (the
-- imports export lists them with in_use false); replaced_seq: the import that did.
CREATE TABLE IF NOT EXISTS import_files_replaced (
    import_seq INTEGER, batch VARCHAR, as_of DATE, source_file VARCHAR, kind VARCHAR,
    "read" INTEGER, accepted INTEGER, duplicates INTEGER, problems INTEGER, warnings INTEGER,
    encoding VARCHAR, sheet VARCHAR, header_row INTEGER, replaced_seq INTEGER);
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
    cols = [
        ("as_of", "DATE"),
        ("batch", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("row_number", "INTEGER"),
    ]
    cols += [(f.name, _SQL_TYPE.get(f.type, "VARCHAR")) for f in kind.fields]
    return cols


def ensure_schema(con: duckdb.DuckDBPyConnection, sources: Sources | None = None) -> None:
    """Create missing tables and columns (a user's extension may add fields)."""
    sources = sources or load_sources()
    have: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ).fetchall():
        have.setdefault(table, set()).add(column)
    ddl = [BOOKKEEPING]
    for kind in sources.kinds.values():
        table = kind_table(kind)
        cols = kind_columns(kind)
        if table not in have:
            ddl.append(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                + ", ".join(f'"{c}" {t}' for c, t in cols)
                + ");"
            )
        ddl += [
            f'ALTER TABLE {table} ADD COLUMN "{c}" {t};'
            for c, t in cols
            if table in have and c not in have[table]
        ]
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


# DuckDB refuses a read-only and a read-write connection to one file at the same
# time within a process, so every connection of this process to the registry
# database is taken under one lock (the app's sessions are threads of one process).
_LOCK = threading.RLock()


@contextmanager
def reading(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published registry in use (or the version
    pinned for this page run: :func:`analytics.published.pinned`). It never waits
    for an import or a build, nor makes one fail. A database that has never been
    published (made before versions were) is opened itself, read-only."""
    with published.reader(db) as con:
        if con is not None:
            yield con
            return
    with _LOCK:
        con = connect(db, read_only=True)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def writing() -> Iterator[None]:
    """Hold the process's lock while a writer (which opens its own connection) runs."""
    with _LOCK:
        yield


# ---------------------------------------------------------------- the app store

# Visits recorded in the app carry this as their batch and source file, beside
# the department files' survey rows.
FIELD_BATCH = "现场录入"

APP_DDL = """
-- One row per field visit (入户调查) recorded in the app: the survey kind's
-- fields, recorded against the registry date in use (as_of). One record per
-- person and day and date: a second one replaces the first (the contract's key
-- of survey rows is id_number + survey_date).
CREATE TABLE IF NOT EXISTS visits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    as_of TEXT NOT NULL, id_number TEXT NOT NULL, survey_date TEXT NOT NULL,
    result TEXT NOT NULL, name TEXT, willingness TEXT, reason TEXT, ability_to_pay TEXT,
    phone TEXT, surveyor TEXT, recorded_at TEXT NOT NULL,
    UNIQUE (as_of, id_number, survey_date));
-- The export audit before the audit log (below) replaced it: no longer written
-- nor read, kept so that an app store written before opens unchanged.
CREATE TABLE IF NOT EXISTS export_audit (
    exported_at TEXT NOT NULL, user_name TEXT, role TEXT, scope TEXT, what TEXT,
    "rows" INTEGER);
CREATE TRIGGER IF NOT EXISTS export_audit_no_update BEFORE UPDATE ON export_audit
BEGIN SELECT RAISE(ABORT, 'export_audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS export_audit_no_delete BEFORE DELETE ON export_audit
BEGIN SELECT RAISE(ABORT, 'export_audit is append-only'); END;
-- One row per account (analytics/accounts.py; 等保 2.0 身份鉴别). scope: the
-- street (9-digit) and community (12-digit) codes of a cadre, sorted, joined by
-- ';', empty for the other roles. password_hash: an argon2id PHC string, never
-- the password. failed_attempts counts wrong passwords in a row; the fifth sets
-- locked_until. must_change_password: an initial or reset password, which the
-- app makes its owner change at the next login. Times: local ISO text.
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('leader', 'bureau', 'cadre', 'admin')),
    scope TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    CHECK ((role = 'cadre') = (scope <> '')));
-- The audit log (analytics/audit.py; 等保 2.0 安全审计), the data contract's
-- columns: when, who (an account, or (命令行) for the server's operator), their
-- role, the action (login, login_failed, locked, logout, person_view, export,
-- visit, import, build, user_change), what it was about, the rows it gave, and
-- a detail (never a password, nor an unmasked ID number or phone). Append-only:
-- the triggers refuse any change to a written row; rowid orders the rows.
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL, "user" TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
    what TEXT NOT NULL DEFAULT '', "rows" INTEGER, detail TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
"""


def app_db(db: str | Path) -> Path:
    """The app store that belongs to a registry database (same folder and stem)."""
    path = Path(db)
    return path.with_name(path.stem + ".app.sqlite")


def app_rows(db: str | Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """Rows of a query (``?`` bound to ``params``) on the app store, opened
    read-only (nothing is created or written; no rows when the app has written
    nothing yet, nor when the table is newer than the store)."""
    path = app_db(db)
    if not path.exists():
        return []
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        try:
            return con.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as exc:
            # A store written before the table existed: nothing of it yet.
            if "no such table" in str(exc):
                return []
            raise
    finally:
        con.close()


@contextmanager
def app_store(db: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection to the app store of ``db``, one transaction: committed when
    the block ends, rolled back when it raises."""
    path = app_db(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10, detect_types=0)
    try:
        # WAL: readers never block the writer nor it them; writers queue (timeout).
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(APP_DDL)
        with con:
            yield con
    finally:
        con.close()


def attach_visits(con: duckdb.DuckDBPyConnection, db: str | Path) -> set[str]:
    """Make ``survey_rows`` on ``con``: the imported survey rows and the visits
    recorded in the app together, in ``src_survey``'s shape (a temporary view:
    nothing is written to the registry database). Returns the ID numbers with a
    visit recorded in the app."""
    rows = app_rows(
        db,
        "SELECT as_of, seq, id_number, survey_date, result, name, willingness, reason, "
        "ability_to_pay, phone, surveyor FROM visits ORDER BY seq",
    )
    columns = [
        "as_of",
        "row_number",
        "id_number",
        "survey_date",
        "result",
        "name",
        "willingness",
        "reason",
        "ability_to_pay",
        "phone",
        "surveyor",
    ]
    con.register("_app_visits", pd.DataFrame(rows, columns=columns, dtype=object))
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW survey_rows AS
        SELECT * FROM src_survey
        UNION ALL BY NAME
        SELECT CAST(as_of AS DATE) AS as_of, '{FIELD_BATCH}' AS batch,
               '{FIELD_BATCH}' AS source_file, CAST(row_number AS INTEGER) AS row_number,
               CAST(id_number AS VARCHAR) AS id_number,
               CAST(survey_date AS DATE) AS survey_date, CAST(result AS VARCHAR) AS result,
               CAST(name AS VARCHAR) AS name, CAST(willingness AS VARCHAR) AS willingness,
               CAST(reason AS VARCHAR) AS reason,
               CAST(ability_to_pay AS VARCHAR) AS ability_to_pay,
               CAST(phone AS VARCHAR) AS phone, CAST(surveyor AS VARCHAR) AS surveyor
        FROM _app_visits""")
    return {r[2] for r in rows}


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> pd.DataFrame:
    """A query's result as a DataFrame."""
    return con.execute(sql, params).df() if params is not None else con.execute(sql).df()


# Arrow types a result of :func:`arrow_frame` may hold, whose pandas form it
# reproduces (anything else is read by :func:`frame`).
_FLAT = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_date32,
)


def _readable(t: pa.DataType) -> bool:
    """A flat type, or a list of one (each cell a numpy array, as ``df()`` gives it)."""
    if pa.types.is_list(t):
        t = t.value_type
        return any(f(t) for f in _FLAT) and not pa.types.is_date32(t)
    return any(f(t) for f in _FLAT)


def _nullable(t: pa.DataType) -> object:
    """The pandas nullable dtype DuckDB's ``df()`` gives a column of ``t`` with NULLs."""
    return (
        pd.BooleanDtype()
        if pa.types.is_boolean(t)
        else pd.api.types.pandas_dtype(str(t).replace("int", "Int").replace("uInt", "UInt"))
    )


def arrow_frame(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> pd.DataFrame:
    """:func:`frame` through Arrow: the same DataFrame (DuckDB's ``df()`` column
    types: a DATE as datetime64[us], an integer or boolean column with NULLs as
    pandas' nullable type), read in a third of the time when it has many text
    cells (DuckDB's ``df()`` makes a Python string of every cell, which pandas
    then turns back into Arrow). A result with other column types, or none at
    all (``df()`` types an empty text column differently), is read by :func:`frame`."""
    table = con.sql(sql, params=params).to_arrow_table()
    types = table.schema.types
    if table.num_rows == 0 or not all(_readable(t) for t in types):
        return frame(con, sql, params)
    columns = {}
    for name, col, t in zip(table.column_names, table.columns, types):
        if pa.types.is_date32(t):
            col = col.cast(pa.timestamp("us"))
        if col.null_count and (pa.types.is_integer(t) or pa.types.is_boolean(t)):
            columns[name] = col.to_pandas(types_mapper={t: _nullable(t)}.get)
        elif col.null_count and pa.types.is_list(t):
            cells = col.to_pandas()
            columns[name] = cells.where(cells.notna(), pd.NA)  # df()'s NULL list
        else:
            columns[name] = col.to_pandas()
    return pd.DataFrame(columns)


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = one(con, "SELECT value FROM meta WHERE key = ?", [key])
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database holds a table of that name (temporary ones aside; a
    published version's tables are views of its files)."""
    return bool(
        scalar(
            con,
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_name = ? AND table_type IN ('BASE TABLE', 'VIEW')",
            [name],
        )
    )


def one(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple | None:
    """The first row of a query (the result is read to the end, as DuckDB asks)."""
    rows = (
        con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    )
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
-- What the snapshot depends on (analytics.registry.keys): a build reuses a snapshot
-- whose key is unchanged; model_key is set on a snapshot that learned from the
-- snapshots before it (the date asked for), empty on a history snapshot.
ALTER TABLE registry_versions ADD COLUMN IF NOT EXISTS snapshot_key VARCHAR;
ALTER TABLE registry_versions ADD COLUMN IF NOT EXISTS model_key VARCHAR;
CREATE TABLE IF NOT EXISTS model_reports (version INTEGER, as_of DATE, report VARCHAR);
-- Decimal goals, as the build computes the gaps with them (ceil(goal × n − k) exact).
CREATE TABLE IF NOT EXISTS registry_goals (
    version INTEGER, year INTEGER, coverage DECIMAL(18, 6), structure DECIMAL(18, 6));
"""


def ensure_registry_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the registry's bookkeeping tables that are missing."""
    con.execute(REGISTRY_DDL)
