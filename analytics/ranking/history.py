"""The ranking's training data, read from the registry's snapshots in DuckDB.

Training rows are the targets of one registry snapshot (date d_i) with the
features that snapshot holds, labelled by the next snapshot (d_i+1): enrolled
(insured), resumed (contributing) or upgraded (employee-scheme contributor).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analytics import store
from analytics.ranking.features import PERSON_COLUMNS, TYPES, feature_frame, outcome_column

OUTCOME_COLUMNS = ("insured", "contributing", "employee_contributor")


@dataclass
class History:
    """Snapshots available for training: (date, persons frame) in date order."""

    snapshots: list[tuple[dt.date, pd.DataFrame]] = field(default_factory=list)

    def lapse(self, upto: int) -> pd.Series:
        """Consecutive snapshots, up to index ``upto``, in which each person is a resume target."""
        run: dict[str, int] = {}
        for _, frame in self.snapshots[: upto + 1]:
            now = set(frame.loc[frame["target_type"] == "resume", "id_number"])
            run = {i: run.get(i, 0) + 1 for i in now}
        return pd.Series(run, dtype=float)


def load_history(con: duckdb.DuckDBPyConnection, as_of: dt.date, current: pd.DataFrame) -> History:
    """The stored snapshots before ``as_of`` plus the current (unsaved) one.

    Of a stored snapshot only the rows training reads are loaded: its targets,
    and the people who were targets of the snapshot before (their outcome). At
    a million people this is a seventh of the rows."""
    cols = ", ".join(f"p.{c}" for c in PERSON_COLUMNS)
    outcome = ", ".join(f"p.{c}" for c in OUTCOME_COLUMNS)
    rows = (
        con.execute(
            f"""
        WITH v AS (
            SELECT version, as_of, lag(version) OVER (ORDER BY as_of) AS previous
            FROM registry_versions WHERE as_of < ?
            QUALIFY row_number() OVER (PARTITION BY as_of ORDER BY version DESC) = 1
        ),
        earlier_targets AS (
            SELECT v.version, q.id_number FROM v JOIN reg_persons q ON q.version = v.previous
            WHERE q.target_type IS NOT NULL
        )
        SELECT v.as_of, {cols}, {outcome}
        FROM reg_persons p JOIN v USING (version)
        LEFT JOIN earlier_targets e ON e.version = p.version AND e.id_number = p.id_number
        WHERE p.target_type IS NOT NULL OR e.id_number IS NOT NULL
        ORDER BY v.as_of, p.id_number""",
            [as_of],
        ).df()
        if store.has_table(con, "reg_persons")
        else pd.DataFrame()
    )
    snaps = (
        [(d, g.drop(columns="as_of")) for d, g in rows.groupby("as_of", sort=True)]
        if len(rows)
        else []
    )
    keep = [*PERSON_COLUMNS, *OUTCOME_COLUMNS]
    snaps.append((as_of, current[keep]))
    return History([(pd.Timestamp(d).date(), f.reset_index(drop=True)) for d, f in snaps])


def visits_between(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> set[str]:
    """People visited (a survey row dated) in (start, end]: the uplift's treatment."""
    rows = con.execute(
        "SELECT DISTINCT id_number FROM survey_rows WHERE survey_date > ? "
        "AND survey_date <= ? AND as_of <= ?",
        [start, end, end],
    ).fetchall()
    return {r[0] for r in rows}


def training_pairs(history: History, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Targets of each snapshot with features, outcome by the next snapshot and
    whether they were visited in between. Features come from the earlier
    snapshot only (the leakage guard: nothing from the outcome period)."""
    frames = []
    for i in range(len(history.snapshots) - 1):
        d0, s0 = history.snapshots[i]
        d1, s1 = history.snapshots[i + 1]
        targets = s0[s0["target_type"].isin(TYPES)].reset_index(drop=True)
        if targets.empty:
            continue
        x = feature_frame(targets, history.lapse(i))
        later = s1.set_index("id_number")
        y = np.zeros(len(targets))
        for t in TYPES:
            mask = (targets["target_type"] == t).to_numpy()
            reached = targets.loc[mask, "id_number"].map(later[outcome_column(t)])
            y[mask] = reached.astype("boolean").fillna(False).astype(float).to_numpy()
        x["y"] = y
        x["treated"] = (
            targets["id_number"].isin(visits_between(con, d0, d1)).astype(float)
            if con is not None
            else 0.0
        )
        x["start"], x["end"] = d0, d1
        x["id_number"] = targets["id_number"].to_numpy()
        frames.append(x)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
