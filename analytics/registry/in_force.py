"""Which batches a registry for a date reads: the macro ``in_force`` of
``000_macro_in_force.sql``, with the event kinds (``Kind.event`` in
``config/sources.toml``) in a temp table beside it.

The build defines it as a step; the problems export defines it on its own
connection, so both read batches by the same rule.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics.registry.runner import split_statements
from analytics.sources import Sources, load_sources

MACRO_FILE = Path(__file__).parent / "000_macro_in_force.sql"


def event_kinds(sources: Sources | None = None) -> list[str]:
    """The kinds that accumulate over batches (death, survey by default), sorted."""
    sources = sources or load_sources()
    return sorted(k.name for k in sources.kinds.values() if k.event)


def create_event_kinds(con: duckdb.DuckDBPyConnection, sources: Sources | None = None) -> None:
    """The temp table ``event_kinds(kind)`` the macro reads."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE event_kinds AS SELECT unnest(?::VARCHAR[]) AS kind",
        [event_kinds(sources)],
    )


def define_in_force(con: duckdb.DuckDBPyConnection, sources: Sources | None = None) -> None:
    """Define ``in_force(kind, batch_as_of, d)`` on ``con`` (read-only connections too:
    temp objects live outside the database file)."""
    create_event_kinds(con, sources)
    for sql in split_statements(MACRO_FILE.read_text(encoding="utf-8")):
        con.execute(sql)
