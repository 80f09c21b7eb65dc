"""The stored registry versions: which one to read, their dates, and the goals
each was built with (``registry_goals``), and the one rule for "goal met".
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from analytics import store
from analytics.config import Goal
from analytics.registry.errors import BuildError


def version_for(
    con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None
) -> tuple[int, dt.date]:
    """The registry version to read: the current one, or the snapshot of ``as_of``."""
    try:
        if as_of is None:
            current = store.get_meta(con, "current_version")
            row = (
                store.one(
                    con,
                    "SELECT version, as_of FROM registry_versions WHERE version = ?",
                    [int(current)],
                )
                if current
                else None
            )
        else:
            row = store.one(
                con,
                "SELECT version, as_of FROM registry_versions WHERE as_of = ? "
                "ORDER BY version DESC LIMIT 1",
                [as_of],
            )
    except duckdb.CatalogException:
        row = None
    if row is None:
        when = f" for {as_of}" if as_of else ""
        raise BuildError(f"还没有构建实名库{when} (no registry built{when}): run kuomian build")
    return int(row[0]), row[1]


def snapshot_dates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT version, as_of FROM registry_versions ORDER BY as_of").df()


def goals_of(con: duckdb.DuckDBPyConnection, version: int) -> tuple[Goal, ...]:
    """The goals registry ``version`` was built with, by year: its gaps are toward these.

    A version built before goals were stored has none: build again.
    """
    try:
        rows = con.execute(
            "SELECT year, coverage, structure FROM registry_goals WHERE version = ? ORDER BY year",
            [int(version)],
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    if not rows:
        raise BuildError(
            f"实名库版本 {version} 没有保存目标 (registry version {version} has no "
            "stored goals): run kuomian build"
        )
    return tuple(Goal(int(y), float(c), float(s)) for y, c, s in rows)


def goal_met(rate: float | None, goal_rate: float) -> bool:
    """Whether a rate meets a goal: a rate (not empty) at or above it.

    >>> goal_met(0.95, 0.95), goal_met(0.9499, 0.95), goal_met(None, 0.95)
    (True, False, False)
    """
    # As the pages and maps decide it: an empty rate (None, NaN) never meets a goal.
    return not pd.isna(rate) and bool(rate >= goal_rate)
