"""Reasons: up to three facts that raise each target's score most, in plain
Chinese, each measured as how much the score falls when the fact is taken away.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.ranking.estimators import RankingModel, positive_proba
from analytics.ranking.features import SURVEY_RESULTS
from analytics.ranking.prior import PRIOR_GROUP


def factors(x: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each fact a reason can cite, and the feature rows with that fact taken away."""
    out: dict[str, pd.DataFrame] = {}
    # Shallow copies: a changed column replaces the copy's own (copy-on-write), the
    # rest are shared. Deep copies merged the frame's blocks again each time (at a
    # million people a third of a history date's scoring).
    for g in range(1, 9):
        y = x.copy(deep=False)
        y[f"g{g}"] = 0.0
        y["n_groups"] = (x["n_groups"] - x[f"g{g}"]).clip(lower=0)
        out[f"g{g}"] = y
    y = x.copy(deep=False)
    for c in ("income_log", "platform_income", "migrant_income"):
        y[c] = np.nan
    y["has_income"] = 0.0
    out["income"] = y
    y = x.copy(deep=False)
    for i in range(len(SURVEY_RESULTS)):
        y[f"survey_{i}"] = 0.0
    out["survey"] = y
    for col, neutral in (
        ("visits", 0.0),
        ("age", 40.0),
        ("grade_log", np.nan),
        ("lapse_quarters", 0.0),
        ("ability", np.nan),
    ):
        y = x.copy(deep=False)
        y[col] = neutral
        out[col] = y
    return out


def _is_group(factor: str) -> bool:
    return factor[:1] == "g" and factor[1:].isdigit()


def has_factor(x: pd.DataFrame, factor: str) -> np.ndarray:
    """Which targets have the fact a factor stands for (so a reason never cites
    what the person does not have)."""
    if _is_group(factor):
        return x[factor].to_numpy() > 0
    if factor == "survey":
        return x[[f"survey_{i}" for i in range(len(SURVEY_RESULTS))]].to_numpy().sum(1) > 0
    if factor == "income":
        # Group 6's evidence already states the income: one reason, not two.
        return (x["has_income"].to_numpy() > 0) & (x["g6"].to_numpy() == 0)
    column = {"visits": "visits", "lapse_quarters": "lapse_quarters"}
    if factor in column:
        return x[column[factor]].to_numpy() > 0
    if factor == "age":
        return np.ones(len(x), dtype=bool)
    return x[factor].notna().to_numpy()  # grade_log, ability


# The feature values a reason's text quotes.
TEXT_FEATURES = ("income_log", "visits", "age", "grade_log", "lapse_quarters")


# The person columns a reason's text quotes.
PERSON_TEXT = ("id_number", "survey_result", "ability_to_pay")


def texts(factor: str, at: np.ndarray, values: dict, people: dict, details: dict) -> list[str]:
    """The reason a factor gives for each of the targets ``at`` (``values`` the
    TEXT_FEATURES columns, ``people`` the PERSON_TEXT columns, as arrays)."""
    if _is_group(factor):
        g = int(factor[1:])
        prior = PRIOR_GROUP[g][1]
        return [details.get((i, g)) or prior for i in people["id_number"][at]]
    if factor == "income":
        return [f"年收入约{int(round(np.exp(v), -2))}元" for v in values["income_log"][at]]
    if factor == "survey":
        return [f"上次走访：{v}" for v in people["survey_result"][at]]
    if factor == "visits":
        return [f"已走访{int(v)}次" for v in values["visits"][at]]
    if factor == "age":
        return [f"{int(v)}岁" for v in values["age"][at]]
    if factor == "grade_log":
        return [f"居民养老保险缴费档次{round(float(np.exp(v)))}元" for v in values["grade_log"][at]]
    if factor == "lapse_quarters":
        return [f"已断缴{int(v)}个季度" for v in values["lapse_quarters"][at]]
    if factor == "ability":
        return [f"缴费能力{v}" for v in people["ability_to_pay"][at]]
    raise KeyError(factor)


def explain(
    model: RankingModel,
    x: pd.DataFrame,
    persons: pd.DataFrame,
    details: dict[tuple[str, int], str],
    top: int = 3,
    min_gain: float = 0.002,
) -> list[str]:
    """Up to ``top`` facts that raise each target's score most, '；'-joined
    (``model`` fitted, ``x`` the feature rows of ``persons``; ``details`` the
    evidence a group's reason quotes, by (id_number, group number))."""
    base = positive_proba(model, x)
    taken = factors(x)
    names = list(taken)
    # Scored again only where the fact is there to take away: a model scores each
    # row on its own, and most targets have few of the facts (at a million
    # people the boosted model's 15 passes over every target took 20 s).
    gains = np.full((len(x), len(names)), -np.inf)
    for j, f in enumerate(names):
        rows = np.flatnonzero(has_factor(x, f))
        if len(rows):
            gains[rows, j] = base[rows] - positive_proba(model, taken[f].iloc[rows])
    order = np.argsort(-gains, axis=1, kind="stable")[:, :top]
    # The texts of one factor for all the rows that cite it at once, then joined
    # per row in rank order: a call per reason and target took 8 µs a target.
    values = {c: x[c].to_numpy() for c in TEXT_FEATURES}
    people = {c: persons[c].to_numpy(dtype=object) for c in PERSON_TEXT}
    n = len(x)
    cited = np.arange(n)
    columns = []
    for k in range(order.shape[1]):
        pick = order[:, k]
        ok = gains[cited, pick] > min_gain
        column = np.full(n, None, dtype=object)
        for j, f in enumerate(names):
            at = np.flatnonzero(ok & (pick == j))
            if len(at):
                column[at] = texts(f, at, values, people, details)
        columns.append(column)
    if not columns:  # top = 0: no reason for anyone
        return [""] * n
    return ["；".join(t for t in row if t is not None) for row in zip(*columns)]
