"""Snapshot keys: what a date's registry snapshot depends on, as one hash, so a
build reuses every snapshot whose inputs did not change and builds only the rest
(``docs/architecture.md``, "Snapshot key").

The key of date ``d`` hashes

- the files in force on ``d`` (the build's own ``in_force`` macro: for a state
  kind the batch in force, for an event kind every batch up to ``d``), each by
  whole accounting row (kind, as-of date, import, file, row counts) and the time
  of its import;
- the app's visits recorded against a date on or before ``d`` (the staging of
  ``survey`` reads them with the imported survey rows: ``store.attach_visits``);
- the newest imported boundaries (the names of areas missing from the division
  data), by content;
- ``d`` itself, the region, and the code and configuration hash (``base``).

A learned snapshot (the date asked for) also depends on the snapshots it learned
from: :func:`model_key` adds the keys of every earlier date.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb

from analytics import store

_FILES_SQL = """
    WITH d AS (SELECT unnest($dates::DATE[]) AS d),
    batches AS (
        SELECT import_seq, max(imported_at) AS imported_at FROM import_batches GROUP BY ALL
    )
    SELECT d.d, string_agg(CAST(row(files, b.imported_at) AS VARCHAR), chr(10)
                           ORDER BY CAST(files AS VARCHAR))
    FROM d JOIN import_files files ON in_force(files.kind, files.as_of, d.d)
    LEFT JOIN batches b USING (import_seq)
    GROUP BY d.d"""

_VISITS_SQL = f"""
    WITH d AS (SELECT unnest($dates::DATE[]) AS d)
    SELECT d.d, string_agg(CAST(s AS VARCHAR), chr(10) ORDER BY s.row_number)
    FROM d JOIN survey_rows s ON s.batch = '{store.FIELD_BATCH}' AND s.as_of <= d.d
    GROUP BY d.d"""

_BOUNDARIES_SQL = """
    SELECT string_agg(CAST(row(code, name, level) AS VARCHAR), chr(10)
                      ORDER BY code, level, name)
    FROM boundaries WHERE import_seq = (SELECT max(import_seq) FROM boundaries)"""


def _by_date(con: duckdb.DuckDBPyConnection, sql: str, dates: list[dt.date]) -> dict:
    return dict(con.execute(sql, {"dates": dates}).fetchall())


def snapshot_keys(
    con: duckdb.DuckDBPyConnection, dates: list[dt.date], base: str
) -> dict[dt.date, str]:
    """The key of each date's snapshot (``in_force`` and ``survey_rows`` defined on
    ``con``; ``base`` the code, configuration and region)."""
    files = _by_date(con, _FILES_SQL, dates)
    visits = _by_date(con, _VISITS_SQL, dates)
    boundaries = store.scalar(con, _BOUNDARIES_SQL) or ""
    keys = {}
    for d in dates:
        h = hashlib.sha256()
        for part in (base, d.isoformat(), files.get(d) or "", visits.get(d) or "", boundaries):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        keys[d] = h.hexdigest()[:24]
    return keys


def model_key(keys: dict[dt.date, str], target: dt.date) -> str:
    """The key of a learned snapshot of ``target``: its own key and those of the
    earlier snapshots it learns from."""
    h = hashlib.sha256(b"learned\x00")
    for d in sorted(k for k in keys if k <= target):
        h.update(f"{d.isoformat()}={keys[d]}\x00".encode())
    return h.hexdigest()[:24]
