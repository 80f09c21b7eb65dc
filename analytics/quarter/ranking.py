"""The ranking of streets for the quarterly 通报 (安宁市方案 五(四): "每季度通报扩面
增效目标任务完成情况，对……成效显著的，予以通报表扬；对……进展缓慢的，予以通报批评").

The rule, from the year's assessment (:mod:`analytics.quarter.assessment`) at the
quarter's as-of date:

- Each task scores its completion (done ÷ task), capped at 1.5 so that one task
  far overdone cannot hide the other left undone. A task of 0 (the street met the
  goal at the baseline) scores 1 — complete — when the street kept it (done ≥ 0),
  and 0 when it fell back. There is no floor: a street that lost ground on a task
  scores below 0 on it.
- ``score`` is the mean of the two tasks' scores (coverage and structure weigh
  the same: the campaign has two goals, 参保率 and 结构比).
- Streets with no legal population at the as-of date are left out (nothing to
  assess: they would otherwise rank first with two "complete" zero tasks).
- ``rank`` is 1..N by score, highest first; equal scores are ordered by
  ``street_code`` (as targets' equal scores are by ID), so every rank is used once.
- ``mention``: ``表扬`` (praise) for ranks 1..3, ``通报`` (criticism) for the last
  three ranks that are not praised (with fewer than six streets, fewer are
  criticised), else empty.
- ``previous_as_of``, ``previous_rank``: the ranking of the last quarter, read at
  the newest imported date in the calendar quarter before the as-of date's (as
  the quarterly report picks its date), in that date's own assessment year
  (the first quarter compares with the last 通报 of the year before); empty when
  no date was imported in that quarter or that year cannot be assessed.
  ``rank_change`` = previous_rank − rank: positive when the street moved up.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from analytics.config import Config
from analytics.quarter.assessment import AssessmentError, Imports, assess, open_imports

RANKING_COLUMNS = [
    "street_code",
    "name",
    "year",
    "as_of",
    "coverage_completion",
    "structure_completion",
    "coverage_score",
    "structure_score",
    "score",
    "rank",
    "mention",
    "previous_as_of",
    "previous_rank",
    "rank_change",
]
CAP = 1.5
MENTIONED = 3
PRAISE, CRITICISM = "表扬", "通报"


def task_score(done: int, task: int) -> float:
    """A task's score: completion capped at :data:`CAP`; a task of 0 is complete
    unless the street fell back.

    >>> task_score(30, 20), task_score(5, 20), task_score(0, 0), task_score(-2, 0)
    (1.5, 0.25, 1.0, 0.0)
    """
    if task == 0:
        return 1.0 if done >= 0 else 0.0
    return min(done / task, CAP)


def previous_quarter_date(dates: list[dt.date], as_of: dt.date) -> dt.date | None:
    """The newest imported date in the calendar quarter before ``as_of``'s.

    >>> previous_quarter_date([dt.date(2024, 12, 31), dt.date(2025, 3, 31)], dt.date(2025, 6, 30))
    datetime.date(2025, 3, 31)
    """
    first_month = 3 * ((as_of.month - 1) // 3) + 1
    end = dt.date(as_of.year, first_month, 1) - dt.timedelta(days=1)
    start = dt.date(end.year, end.month - 2, 1)
    within = [d for d in dates if start <= d <= end]
    return max(within) if within else None


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    # A street nobody lives in has nothing to assess: it is neither praised nor criticised.
    frame = frame[frame["legal_population"] > 0]
    out = frame[
        ["street_code", "name", "year", "as_of", "coverage_completion", "structure_completion"]
    ].copy()
    for m in ("coverage", "structure"):
        out[f"{m}_score"] = [
            task_score(int(d), int(t))
            for d, t in zip(frame[f"{m}_done"], frame[f"{m}_task"], strict=True)
        ]
    out["score"] = (out["coverage_score"] + out["structure_score"]) / 2
    out = out.sort_values(["score", "street_code"], ascending=[False, True], kind="stable")
    n = len(out)
    out["rank"] = range(1, n + 1)
    out["mention"] = [
        PRAISE if r <= MENTIONED else CRITICISM if r > max(MENTIONED, n - MENTIONED) else ""
        for r in out["rank"]
    ]
    return out.reset_index(drop=True)


def rank_streets(imp: Imports, year: int, as_of: dt.date | None = None) -> pd.DataFrame:
    """The ranking of ``year``'s streets at ``as_of`` on an open :class:`Imports`."""
    current = _ranked(assess(imp, year, as_of))
    date = current["as_of"].iloc[0] if len(current) else as_of
    previous = previous_quarter_date(imp.dates, date) if date else None
    before = None
    if previous is not None:
        try:
            before = _ranked(assess(imp, previous.year, previous))
        except AssessmentError:
            before = None
    if before is None:
        current["previous_as_of"] = None
        current["previous_rank"] = pd.array([pd.NA] * len(current), dtype="Int64")
    else:
        ranks = dict(zip(before["street_code"], before["rank"], strict=True))
        current["previous_as_of"] = previous
        current["previous_rank"] = pd.array(
            [ranks.get(c, pd.NA) for c in current["street_code"]], dtype="Int64"
        )
    current["rank_change"] = current["previous_rank"] - pd.array(current["rank"], dtype="Int64")
    return current[RANKING_COLUMNS]


def street_ranking(
    db: str | Path | None, year: int, as_of: dt.date | None = None, config: Config | None = None
) -> pd.DataFrame:
    """The streets of ``year``'s assessment at ``as_of`` ranked for the quarterly
    通报: score, rank, mention (表扬/通报) and the change since the last quarter (see
    the module's docstring for the rule)."""
    with open_imports(db, config) as imp:
        return rank_streets(imp, int(year), as_of)
