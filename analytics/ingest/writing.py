"""Writing a checked batch: replace, kind by kind, what the database holds for the
batch's date with its accepted rows, problem data and accounting.

The checked rows are temporary tables of the staging connection (``stage``, see
:mod:`analytics.ingest.importer`); they reach the import's transaction on ``con``
as Arrow streams, in their order."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from analytics import store
from analytics.ingest.records import BatchResult, FileReport
from analytics.ingest.settle import ISSUE_TABLE_COLUMNS
from analytics.sources import Kind, Sources
from analytics.store import FIELD_BATCH


def _name_mismatch_sql(kinds: list[str]) -> str:
    """Warnings for rows of this batch whose name differs from the 户籍 name in force,
    of the ``kinds`` in their order: one join with the 户籍 for the batch, not one a kind
    (1M people, a batch's 16 kinds: 0.27 s instead of 0.45 s)."""
    rows = " UNION ALL ".join(
        f"""SELECT {order} AS kind_order, source_file, row_number, id_number, name
            FROM src_{kind} WHERE as_of = $as_of AND batch = $batch AND name IS NOT NULL"""
        for order, kind in enumerate(kinds)
    )
    return f"""
        WITH hukou_in_force AS (
            SELECT id_number, name FROM src_hukou
            WHERE as_of = (SELECT max(as_of) FROM src_hukou WHERE as_of <= $as_of)
        )
        SELECT s.kind_order, s.source_file, s.row_number, s.id_number, s.name AS name,
               h.name AS hukou_name
        FROM ({rows}) s JOIN hukou_in_force h USING (id_number)
        WHERE s.name <> h.name
        ORDER BY s.kind_order, s.source_file, s.row_number
    """


# Rows a batch of the Arrow stream between the connections holds.
_STREAM_ROWS = 100_000


def _stream(
    stage: duckdb.DuckDBPyConnection,
    select: str,
    con: duckdb.DuckDBPyConnection,
    insert: str,
    params: dict[str, object] | None = None,
) -> None:
    """Run ``insert`` on ``con`` with ``_ingest_in`` the rows of ``select`` on
    ``stage``, streamed in their order."""
    reader = stage.sql(select).to_arrow_reader(_STREAM_ROWS)
    con.register("_ingest_in", reader)
    try:
        con.execute(insert, params)
    finally:
        con.unregister("_ingest_in")
        reader.close()


def _insert_accepted(
    con: duckdb.DuckDBPyConnection,
    stage: duckdb.DuckDBPyConnection,
    kind: Kind,
    result: BatchResult,
    files: list[str],
) -> None:
    columns = ", ".join(f'"{c}"' for c, _ in store.kind_columns(kind))
    values = ", ".join(f"v{j}" for j in range(len(kind.fields)))
    _stream(
        stage,
        f"""SELECT seq, row_number, {values} FROM _ingest_kind_{kind.name}
            WHERE fate = 'accepted' ORDER BY seq, pos""",
        con,
        f"""INSERT INTO src_{kind.name} ({columns})
            SELECT $as_of, $batch, $files[seq + 1], row_number, {values} FROM _ingest_in""",
        {"as_of": result.as_of, "batch": result.batch, "files": files},
    )


def _name_mismatches(
    con: duckdb.DuckDBPyConnection,
    stage: duckdb.DuckDBPyConnection,
    result: BatchResult,
    sources: Sources,
) -> None:
    """Same ID, another name than 户籍's: a warning (into the batch's issues on
    ``stage``); the 户籍 name is kept."""
    params = {"as_of": result.as_of, "batch": result.batch}
    reports = {(f.source_file, f.kind): f for f in result.files}
    # (place among the batch's kinds, kind) of the kinds whose rows name a person.
    named = [
        (order, kind.name)
        for order, kind in enumerate(sources.kinds[k] for k in result.kinds_accepted)
        if kind.name != "hukou" and kind.person and "name" in [f.name for f in kind.fields]
    ]
    rows = []
    found = (
        con.execute(_name_mismatch_sql([k for _, k in named]), params).fetchall() if named else []
    )
    for kind_order, source_file, row_number, id_number, name, hukou_name in found:
        order, kind_name = named[kind_order]
        rows.append(
            [
                2,
                order,
                0,
                0,
                len(rows),
                source_file,
                row_number,
                kind_name,
                "name_mismatch",
                id_number,
                json.dumps({"姓名": name, "户籍姓名": hukou_name}, ensure_ascii=False),
                "warning",
                "name",
                f"姓名与户籍不符，保留户籍姓名 {hukou_name} (name differs from 户籍's): {name}",
            ]
        )
        reports[(source_file, kind_name)].warnings += 1
    if rows:
        names = ISSUE_TABLE_COLUMNS
        table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(names)})
        stage.register("_ingest_mismatches", table)
        stage.execute(
            f"INSERT INTO _ingest_issues SELECT {', '.join(names)} FROM _ingest_mismatches"
        )
        stage.unregister("_ingest_mismatches")


def _file_row(seq: int, f: FileReport) -> list[object]:
    return [
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


def write_batch(
    con: duckdb.DuckDBPyConnection,
    stage: duckdb.DuckDBPyConnection,
    result: BatchResult,
    sources: Sources,
    seq: int,
    files: list[str],
) -> None:
    """Replace, kind by kind, what the database holds for the batch's date, in
    ``con``'s transaction, with the batch's checked tables on ``stage``.

    ``files`` names the source file of each table of the batch, by its place."""
    kinds = sorted({f.kind for f in result.files})
    for kind_name in kinds:
        day = {"as_of": result.as_of, "kind": kind_name}
        con.execute(
            "INSERT INTO import_files_replaced SELECT *, $seq FROM import_files "
            "WHERE as_of = $as_of AND kind = $kind",
            {**day, "seq": seq},
        )
        con.execute("DELETE FROM import_files WHERE as_of = $as_of AND kind = $kind", day)
        con.execute("DELETE FROM problems WHERE as_of = $as_of AND kind = $kind", day)
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
    for kind_name in result.kinds_accepted:
        _insert_accepted(con, stage, sources.kinds[kind_name], result, files)
    # Name mismatches need the 户籍 in force, which this batch may have just replaced.
    _name_mismatches(con, stage, result, sources)
    _stream(
        stage,
        """SELECT source_file, row_number, kind, reason, id_number, raw, severity, field,
                  message
           FROM _ingest_issues ORDER BY phase, seq, grp, fj, pos""",
        con,
        """INSERT INTO problems
           SELECT $seq, $batch, $as_of, source_file, row_number, kind, reason, id_number, raw,
                  severity, field, message
           FROM _ingest_in""",
        {"seq": seq, "batch": result.batch, "as_of": result.as_of},
    )
    con.executemany(
        "INSERT INTO import_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_file_row(seq, f) for f in result.files],
    )
    if result.boundaries:
        source = next(f.source_file for f in result.files if f.kind == "boundaries")
        con.executemany(
            "INSERT INTO boundaries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    seq,
                    result.batch,
                    result.as_of,
                    source,
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
