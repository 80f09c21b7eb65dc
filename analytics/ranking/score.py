"""The build's score step: scores, reasons and suggested actions for the
targets of a registry build, into the temp table ``int_scores``.

- With history (two or more snapshots) the score is learned
  (:mod:`analytics.ranking.selection`): the probability that the target reaches
  its own outcome — enrolls, resumes or upgrades — by the next quarter end.
- Without history it is the documented prior (:mod:`analytics.ranking.prior`).

Each target also gets up to three reasons (:mod:`analytics.ranking.explain`)
and one of the six actions (:mod:`analytics.ranking.actions`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analytics import store
from analytics.ranking.actions import suggest_action
from analytics.ranking.estimators import PriorModel, positive_proba
from analytics.ranking.explain import PERSON_TEXT, explain
from analytics.ranking.features import PERSON_COLUMNS, feature_frame
from analytics.ranking.history import (
    CURRENT_ROWS_WHERE,
    OUTCOME_COLUMNS,
    load_history,
    training_pairs,
)
from analytics.ranking.selection import choose_and_fit, fit_uplift, predict_uplift

PACKAGE_DIR = Path(__file__).parent
# At most two threads: more only oversubscribe a shared machine (a fit took
# 7.7 s instead of 0.9 s beside other busy processes); scores are identical
# with one or two threads (checked on the demo region).
FIT_THREADS = min(2, os.cpu_count() or 1)
# The targets scored, with the columns the features, the reasons' texts and the
# actions read (through Arrow: store.arrow_frame). Every column was twice the
# read, at a million people 0.3 s of each date.
TARGETS_SQL = (
    f"SELECT {', '.join(dict.fromkeys([*PERSON_COLUMNS, *PERSON_TEXT]))} "
    "FROM mart_persons WHERE target_type IS NOT NULL ORDER BY id_number"
)
# The detail a group's reason quotes: of each target's evidence rows for a group,
# the first by kind (and, within a kind, in the mart's order). Read as a dict
# keyed (id_number, group_no); sorting everyone's evidence in pandas took 0.3 s
# of each date at a million people.
DETAILS_SQL = """
    SELECT e.id_number, e.group_no, e.detail FROM mart_evidence e
    WHERE e.detail IS NOT NULL
      AND e.id_number IN (SELECT id_number FROM mart_persons WHERE target_type IS NOT NULL)
    QUALIFY row_number() OVER (PARTITION BY e.id_number, e.group_no ORDER BY e.kind, e.rowid) = 1"""
# The columns of int_scores, typed.
SCORE_COLUMNS = ", ".join(
    f"CAST({c} AS {t}) AS {c}"
    for c, t in (
        ("id_number", "VARCHAR"),
        ("score", "DOUBLE"),
        ("reasons", "VARCHAR"),
        ("action", "VARCHAR"),
        ("action_rule", "VARCHAR"),
        ("uplift", "DOUBLE"),
        ("model", "VARCHAR"),
    )
)


def code_files() -> list[Path]:
    """The ranking's source files, in name order (for the build's code hash)."""
    return sorted(PACKAGE_DIR.glob("*.py"))


def score_targets(con: duckdb.DuckDBPyConnection, as_of: dt.date, learn: bool) -> tuple[str, dict]:
    """Score the targets of mart_persons into the temp table int_scores; returns
    the model's name and report. ``learn`` False keeps the prior."""
    details = group_details(con)
    learned = learned_scores(con, as_of, details) if learn else None
    if learned is None:
        targets = store.arrow_frame(con, TARGETS_SQL)
        scores = prior_scores(targets, details)
        report = {"chosen": "prior", "note": "无历史数据或未训练 (no history: prior score)"}
    else:
        scores, report = learned
    con.register("_scores", scores)
    # Typed here, not by the frame: a date with no targets gives empty columns,
    # which pandas holds as floats, and a mart whose types changed would drop the
    # stored snapshots of every other date (build._persist).
    con.execute(f"CREATE OR REPLACE TEMP TABLE int_scores AS SELECT {SCORE_COLUMNS} FROM _scores")
    con.unregister("_scores")
    return report.get("chosen", "prior"), report


def group_details(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], str]:
    """The detail each target's group reason quotes (:data:`DETAILS_SQL`)."""
    return {(i, g): d for i, g, d in con.execute(DETAILS_SQL).fetchall()}


def report_json(report: dict) -> str:
    """The model report as stored in model_reports."""
    return json.dumps(report, ensure_ascii=False, default=str, allow_nan=True)


def _scored(
    persons: pd.DataFrame,
    x: pd.DataFrame,
    scores: np.ndarray,
    reasons: list[str],
    model_name: str,
    uplift: np.ndarray | None = None,
) -> pd.DataFrame:
    # One rule per (type, groups): a region has a few hundred such pairs, and a
    # call per target took 0.5 s of each date at a million people.
    rule: dict[tuple, tuple[str, str]] = {}
    actions = []
    for t, g in zip(persons["target_type"].tolist(), persons["groups"].tolist()):
        key = (t, *(g if g is not None else ()))
        if key not in rule:
            rule[key] = suggest_action(t, [int(v) for v in key[1:]])
        actions.append(rule[key])
    return pd.DataFrame(
        {
            "id_number": persons["id_number"].to_numpy(),
            "score": np.clip(scores, 0.0, 1.0),
            "reasons": reasons,
            "action": [a for a, _ in actions],
            "action_rule": [r for _, r in actions],
            "uplift": uplift if uplift is not None else np.full(len(persons), np.nan),
            "model": model_name,
        }
    )


def prior_scores(persons: pd.DataFrame, details: dict) -> pd.DataFrame:
    """Scores from the prior, for targets with no history to learn from."""
    persons = persons.reset_index(drop=True)
    x = feature_frame(persons)
    prior = PriorModel().fit(x)
    return _scored(
        persons, x, positive_proba(prior, x), explain(prior, x, persons, details), prior.name
    )


def learned_scores(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, details: dict
) -> tuple[pd.DataFrame, dict] | None:
    """Scores from a model learned on earlier snapshots, or None without history."""
    with threadpool_limits(FIT_THREADS):
        return _learned_scores(con, as_of, details)


def _fit_uplift(pairs: pd.DataFrame, report: dict):
    with threadpool_limits(FIT_THREADS):  # this thread's own OpenMP
        return fit_uplift(pairs, report)


def _learned_scores(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, details: dict
) -> tuple[pd.DataFrame, dict] | None:
    # Of the current snapshot only what training reads: its targets (their lapse)
    # and last quarter's targets (their outcome); every column only of the targets
    # scored. Everyone's every column was the build's largest frame (about 2 GB
    # at a million people), and everyone's training columns a third of the rest.
    cols = ", ".join(f"p.{c}" for c in dict.fromkeys([*PERSON_COLUMNS, *OUTCOME_COLUMNS]))
    stored = store.has_table(con, "reg_persons")
    read = CURRENT_ROWS_WHERE if stored else "p.target_type IS NOT NULL"
    current = store.arrow_frame(
        con,
        f"SELECT {cols} FROM mart_persons p WHERE {read} ORDER BY p.id_number",
        [as_of] if stored else None,
    )
    history = load_history(con, as_of, current)
    pairs = training_pairs(history, con)
    if pairs.empty or pairs["y"].nunique() < 2:
        return None
    targets = store.arrow_frame(con, TARGETS_SQL)
    del current
    if targets.empty:
        return None  # nobody to score: the prior's (empty) scores
    # The uplift model is fitted in a thread beside the ranking model, its
    # reasons and the logistic candidate (which uses one core): scikit-learn
    # releases the GIL while it fits, the fits are the same with one thread or
    # two, and at a million people the two chains took 21 s one after the other.
    uplift_report: dict = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        uplift_fit = pool.submit(_fit_uplift, pairs, uplift_report)
        choice = choose_and_fit(pairs)
        x = feature_frame(targets, history.lapse(len(history.snapshots) - 1))
        scores = positive_proba(choice.model, x)
        reasons = explain(choice.model, x, targets, details)
        uplift_model = uplift_fit.result()
    choice.report.update(uplift_report)
    uplift = predict_uplift(uplift_model, x) if uplift_model is not None else None
    choice.report["scored_targets"] = len(targets)
    if history.keep < 1:
        choice.report["training_sample"] = round(history.keep, 4)
    return _scored(targets, x, scores, reasons, choice.model.name, uplift), choice.report
