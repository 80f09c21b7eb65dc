"""The ranking's training data, read from the registry's snapshots in DuckDB.

Training rows are the targets of one registry snapshot (date d_i) with the
features that snapshot holds, labelled by the next snapshot (d_i+1): enrolled
(insured), resumed (contributing) or upgraded (employee-scheme contributor).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analytics import store
from analytics.ranking.features import PERSON_COLUMNS, TYPES, feature_frame, outcome_column

OUTCOME_COLUMNS = ("insured", "contributing", "employee_contributor")
# Training learns from at most about this many target rows of the stored
# snapshots. A longer history is sampled by person: a person is in the sample
# or not on every date, so their outcome, visits and consecutive quarters lapsed
# stay exact. Below it (a county; the demo region up to 120k people, about 190k
# rows) nothing is sampled and scores are as before. At a million people (1.74M
# rows) the boosted model's held-out AUC was 0.7316 on a 400k sample against
# 0.7346 on all rows (0.7286 on 200k, 0.7333 on 700k; bench/ranking.py
# --training-rows), and a fit took 9.4 s instead of 54 s.
TRAINING_ROWS = 400_000


def sample_threshold(keep: float) -> int:
    """The bound on a person's sample number (:func:`sample_number`) for a share ``keep``."""
    return int(min(max(keep, 0.0), 1.0) * 2**32)


def sample_number(ids: pd.Series) -> np.ndarray:
    """Each ID's number in 0..2^32-1, the first 8 hex digits of its MD5: the same
    in Python and in DuckDB (``_SAMPLE_SQL``), independent of either's version."""
    return np.array(
        [int(hashlib.md5(str(i).encode()).hexdigest()[:8], 16) for i in ids], dtype=np.int64
    )


_SAMPLE_SQL = "('0x' || left(md5(q.id_number), 8))::BIGINT"


@dataclass
class History:
    """Snapshots available for training: (date, persons frame) in date order."""

    snapshots: list[tuple[dt.date, pd.DataFrame]] = field(default_factory=list)
    # Every resume target of each snapshot, sampled or not (None: those of the frames).
    resume: list[set[str]] | None = None
    keep: float = 1.0  # the share of people whose rows were loaded
    # lapse's runs, snapshot by snapshot, counted once (training asks for every index).
    _runs: list[dict[str, int]] = field(default_factory=list, repr=False, compare=False)

    def lapse(self, upto: int) -> pd.Series:
        """Consecutive snapshots, up to index ``upto``, in which each person is a resume target."""
        runs = self._runs
        run: dict[str, int] = runs[-1] if runs else {}
        for k in range(len(runs), upto + 1):
            if self.resume is not None:
                now = self.resume[k]
            else:
                frame = self.snapshots[k][1]
                now = set(frame.loc[frame["target_type"] == "resume", "id_number"])
            run = {i: run.get(i, 0) + 1 for i in now}
            runs.append(run)
        return pd.Series(runs[upto], dtype=float)


_VERSIONS_SQL = """
        WITH v AS (
            SELECT version, as_of, lag(version) OVER (ORDER BY as_of) AS previous
            FROM registry_versions WHERE as_of < ?
            QUALIFY row_number() OVER (PARTITION BY as_of ORDER BY version DESC) = 1
        ),
        earlier_targets AS (
            SELECT v.version, q.id_number FROM v JOIN reg_persons q ON q.version = v.previous
            WHERE q.target_type IS NOT NULL
        )"""
# The rows of the current (unsaved) snapshot training reads, as a condition on
# ``p``: its targets (their lapse) and the targets of the newest stored snapshot
# (their outcome by now). One parameter: the current date.
CURRENT_ROWS_WHERE = f"""p.target_type IS NOT NULL OR p.id_number IN ({_VERSIONS_SQL}
        SELECT q.id_number FROM reg_persons q JOIN v USING (version)
        WHERE q.target_type IS NOT NULL AND v.as_of = (SELECT max(as_of) FROM v))"""
_TRAINING_ROWS_WHERE = """
        FROM reg_persons p JOIN v USING (version)
        LEFT JOIN earlier_targets e ON e.version = p.version AND e.id_number = p.id_number
        WHERE (p.target_type IS NOT NULL OR e.id_number IS NOT NULL)"""


def load_history(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    current: pd.DataFrame,
    max_rows: int | None = TRAINING_ROWS,
) -> History:
    """The stored snapshots before ``as_of`` plus the current (unsaved) one.

    Of a stored snapshot only the rows training reads are loaded: its targets,
    and the people who were targets of the snapshot before (their outcome). At
    a million people this is a seventh of the rows. When the targets are more
    than ``max_rows`` (None: no bound), the rows of a sample of people are
    loaded (:data:`TRAINING_ROWS`)."""
    cols = ", ".join(f"p.{c}" for c in PERSON_COLUMNS)
    outcome = ", ".join(f"p.{c}" for c in OUTCOME_COLUMNS)
    keep_cols = [*PERSON_COLUMNS, *OUTCOME_COLUMNS]
    if not store.has_table(con, "reg_persons"):
        return History([(as_of, current[keep_cols].reset_index(drop=True))])
    keep, sample = 1.0, ""
    if max_rows is not None:
        rows = store.scalar(
            con,
            f"{_VERSIONS_SQL} SELECT count(*) {_TRAINING_ROWS_WHERE} AND p.target_type IS NOT NULL",
            [as_of],
        )
        if rows > max_rows:
            keep = max_rows / rows
            # The people in the sample, of those who were ever a target: an MD5
            # of their IDs only, not of every stored row (at a million people
            # 10M rows, 1.2 s of the 2.8 s read).
            sample = f""" AND p.id_number IN (
                SELECT q.id_number FROM reg_persons q JOIN v USING (version)
                WHERE q.target_type IS NOT NULL AND {_SAMPLE_SQL} < {sample_threshold(keep)})"""
    rows = store.arrow_frame(
        con,
        f"""{_VERSIONS_SQL}
        SELECT v.as_of, {cols}, {outcome} {_TRAINING_ROWS_WHERE}{sample}
        ORDER BY v.as_of, p.id_number""",
        [as_of],
    )
    snaps = [(d, g.drop(columns="as_of")) for d, g in rows.groupby("as_of", sort=True)]
    snaps.append((as_of, current[keep_cols]))
    history = History([(pd.Timestamp(d).date(), f.reset_index(drop=True)) for d, f in snaps])
    if sample:
        # Every resume target, sampled or not: the lapse of the targets scored.
        resume = con.execute(
            f"""{_VERSIONS_SQL}
            SELECT v.as_of, list(p.id_number) FROM reg_persons p JOIN v USING (version)
            WHERE p.target_type = 'resume' GROUP BY v.as_of""",
            [as_of],
        ).fetchall()
        by_date = {pd.Timestamp(d).date(): set(ids) for d, ids in resume}
        history.resume = [by_date.get(d, set()) for d, _ in history.snapshots[:-1]]
        history.resume.append(set(current.loc[current["target_type"] == "resume", "id_number"]))
        history.keep = keep
    return history


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
