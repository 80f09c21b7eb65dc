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


# The feature values a reason's text quotes (``x`` of :func:`text`).
TEXT_FEATURES = ("income_log", "visits", "age", "grade_log", "lapse_quarters")


def text(factor: str, x: dict, person: dict, details: dict) -> str:
    """The reason a factor gives for one target (``x`` its feature row)."""
    if _is_group(factor):
        g = int(factor[1:])
        detail = details.get((person["id_number"], g))
        return detail or PRIOR_GROUP[g][1]
    if factor == "income":
        return f"年收入约{int(round(np.exp(x['income_log']), -2))}元"
    if factor == "survey":
        return f"上次走访：{person['survey_result']}"
    if factor == "visits":
        return f"已走访{int(x['visits'])}次"
    if factor == "age":
        return f"{int(x['age'])}岁"
    if factor == "grade_log":
        return f"居民养老保险缴费档次{round(float(np.exp(x['grade_log'])))}元"
    if factor == "lapse_quarters":
        return f"已断缴{int(x['lapse_quarters'])}个季度"
    if factor == "ability":
        return f"缴费能力{person['ability_to_pay']}"
    raise KeyError(factor)


def explain(
    model: RankingModel,
    x: pd.DataFrame,
    persons: pd.DataFrame,
    evidence: pd.DataFrame,
    top: int = 3,
    min_gain: float = 0.002,
) -> list[str]:
    """Up to ``top`` facts that raise each target's score most, '；'-joined
    (``model`` fitted, ``x`` the feature rows of ``persons``)."""
    base = positive_proba(model, x)
    taken = factors(x)
    names = list(taken)
    gains = np.column_stack(
        [np.where(has_factor(x, f), base - positive_proba(model, taken[f]), -np.inf) for f in names]
    )
    order = np.argsort(-gains, axis=1, kind="stable")[:, :top]
    # The first detail of each person's group, by kind (a groupby's first() as
    # a plain dict: building it from a MultiIndex took longer than the scoring).
    ev = evidence[evidence["detail"].notna()] if len(evidence) else evidence
    ev = ev.sort_values(["id_number", "group_no", "kind"]).drop_duplicates(
        ["id_number", "group_no"]
    )
    details = dict(
        zip(
            zip(ev["id_number"].tolist(), ev["group_no"].tolist()),
            ev["detail"].tolist(),
        )
    )
    # Only the features a reason's text quotes: the whole feature frame as dicts
    # took a third of a history snapshot's prior scoring.
    rows = x[list(TEXT_FEATURES)].to_dict("records")
    people = persons[["id_number", "survey_result", "ability_to_pay"]].to_dict("records")
    out = []
    for i, picks in enumerate(order):
        out.append(
            "；".join(
                text(names[j], rows[i], people[i], details) for j in picks if gains[i, j] > min_gain
            )
        )
    return out
