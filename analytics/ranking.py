"""Scores, reasons and suggested actions for the targets of a registry build.

- With history (two or more snapshots) the score is learned
  (:mod:`analytics.model`): the probability that the target reaches its own
  outcome — enrolls, resumes or upgrades — by the next quarter end.
- Without history it is the documented *prior* (:func:`prior_scores_of`): a base
  rate by target type, plus points for the groups a person is in, age and the
  latest visit result. The same prior is the learned model's first baseline.

Each target also gets up to three facts that raise its score most, in plain
Chinese (each measured as how much the score falls when the fact is taken
away), and one of the six actions (六个一批) with the rule that picked it.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analytics import model as m

# Base chance of reaching the outcome by the next quarter end, by target type.
PRIOR_BASE = {"enroll": 0.08, "resume": 0.15, "upgrade": 0.04}
# Points added for each group (why, in the words a cadre would use).
PRIOR_GROUP = {
    7: (0.10, "困难群体，政府代缴居民养老保险"),
    2: (0.06, "符合参保缴费补贴政策"),
    6: (0.05, "收入较高，具备职工养老保险缴费能力"),
    1: (0.04, "个体工商户/小微企业经营者，纳税正常"),
    3: (0.04, "转移就业且稳定就业满6个月"),
    4: (0.03, "新就业形态劳动者"),
    5: (0.03, "持执业资格的自由职业者"),
    8: (0.03, "基层服务项目/民办学校/编外人员"),
}
PRIOR_SURVEY = {"同意参保": 0.30, "考虑中": 0.10, "拒绝": -0.05, "联系不上": -0.03}


def prior_scores_of(x: pd.DataFrame) -> np.ndarray:
    """The prior for rows of :func:`analytics.model.feature_frame`.

    Enroll 8%, resume 15%, upgrade 4%; each group adds its points (group 7
    not for upgrades, which it never is); enrollees aged 45-59 +3, 60+ -4,
    under 25 -3; the latest visit result adds its points. Clipped to 1%-95%.
    """
    t = x["target_type"].to_numpy()
    score = np.array([PRIOR_BASE[v] for v in t], dtype=float)
    for g, (points, _) in PRIOR_GROUP.items():
        has = x[f"g{g}"].to_numpy() > 0
        if g == 7:
            has &= t != "upgrade"
        score += points * has
    age = x["age"].to_numpy()
    enroll = t == "enroll"
    score += enroll * np.select([(age >= 45) & (age < 60), age >= 60, age < 25],
                                [0.03, -0.04, -0.03], 0.0)
    for i, result in enumerate(m.SURVEY_RESULTS):
        score += PRIOR_SURVEY.get(result, 0.0) * (x[f"survey_{i}"].to_numpy() > 0)
    return np.clip(score, 0.01, 0.95)


def suggest_action(target_type: str, groups: list[int]) -> tuple[str, str]:
    """One of the six actions (六个一批) and the rule that picked it.

    >>> suggest_action("enroll", [3, 7])
    ('政府帮扶兜底', '第7类缴费困难群体：政府代缴')
    """
    g = set(groups)
    if 7 in g:
        return "政府帮扶兜底", "第7类缴费困难群体：政府代缴"
    if 2 in g:
        return "完善政策吸纳", "第2类符合缴费补贴政策：落实补贴吸纳参保"
    if 3 in g:
        return "依法维权纳入", "第3类稳定就业满6个月：督促用人单位依法参保"
    if 1 in g:
        return "强化执法扩面", "第1类纳税正常市场主体经营者：执法检查推动单位参保"
    if 4 in g or 5 in g:
        return "典型引路带动", "第4/5类新业态或自由职业者：以身边典型带动参保"
    if target_type == "resume":
        return "精准宣传动员", "断缴人员：宣传持续缴费（持续保）"
    return "精准宣传动员", "其他对象：精准宣传动员"


# ---------------------------------------------------------------- reasons

def _factors(x: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each fact a reason can cite, and the feature rows with that fact taken away."""
    out: dict[str, pd.DataFrame] = {}
    for g in range(1, 9):
        y = x.copy()
        y[f"g{g}"] = 0.0
        y["n_groups"] = (x["n_groups"] - x[f"g{g}"]).clip(lower=0)
        out[f"g{g}"] = y
    y = x.copy()
    for c in ("income_log", "platform_income", "migrant_income"):
        y[c] = np.nan
    y["has_income"] = 0.0
    out["income"] = y
    y = x.copy()
    for i in range(len(m.SURVEY_RESULTS)):
        y[f"survey_{i}"] = 0.0
    out["survey"] = y
    for col, neutral in (("visits", 0.0), ("age", 40.0), ("grade_log", np.nan),
                         ("lapse_quarters", 0.0), ("ability", np.nan)):
        y = x.copy()
        y[col] = neutral
        out[col] = y
    return out


def _is_group(factor: str) -> bool:
    return factor[:1] == "g" and factor[1:].isdigit()


def _has(x: pd.DataFrame, factor: str) -> np.ndarray:
    """Which targets have the fact a factor stands for (so a reason never cites
    what the person does not have)."""
    if _is_group(factor):
        return x[factor].to_numpy() > 0
    if factor == "survey":
        return x[[f"survey_{i}" for i in range(len(m.SURVEY_RESULTS))]].to_numpy().sum(1) > 0
    if factor == "income":
        # Group 6's evidence already states the income: one reason, not two.
        return (x["has_income"].to_numpy() > 0) & (x["g6"].to_numpy() == 0)
    column = {"visits": "visits", "lapse_quarters": "lapse_quarters"}
    if factor in column:
        return x[column[factor]].to_numpy() > 0
    if factor == "age":
        return np.ones(len(x), dtype=bool)
    return x[factor].notna().to_numpy()  # grade_log, ability


def _text(factor: str, x: dict, person: dict, details: dict) -> str:
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


def explain(model: m.RankingModel, x: pd.DataFrame, persons: pd.DataFrame,
            evidence: pd.DataFrame, top: int = 3, min_gain: float = 0.002) -> list[str]:
    """Up to ``top`` facts that raise each target's score most, '；'-joined."""
    base = model.predict_proba(x)
    factors = _factors(x)
    names = list(factors)
    gains = np.column_stack([
        np.where(_has(x, f), base - model.predict_proba(factors[f]), -np.inf) for f in names])
    order = np.argsort(-gains, axis=1, kind="stable")[:, :top]
    details = (evidence.sort_values(["id_number", "group_no", "kind"])
               .groupby(["id_number", "group_no"])["detail"].first().to_dict()
               if len(evidence) else {})
    rows = x.to_dict("records")
    people = persons[["id_number", "survey_result", "ability_to_pay"]].to_dict("records")
    out = []
    for i, picks in enumerate(order):
        out.append("；".join(_text(names[j], rows[i], people[i], details) for j in picks
                            if gains[i, j] > min_gain))
    return out


# ---------------------------------------------------------------- scoring

def _scored(persons: pd.DataFrame, x: pd.DataFrame, scores: np.ndarray, reasons: list[str],
            model_name: str, uplift: np.ndarray | None = None) -> pd.DataFrame:
    actions = [suggest_action(t, list(g) if g is not None else [])
               for t, g in zip(persons["target_type"], persons["groups"])]
    return pd.DataFrame({
        "id_number": persons["id_number"].to_numpy(),
        "score": np.clip(scores, 0.0, 1.0),
        "reasons": reasons,
        "action": [a for a, _ in actions],
        "action_rule": [r for _, r in actions],
        "uplift": uplift if uplift is not None else np.full(len(persons), np.nan),
        "model": model_name,
    })


def prior_scores(persons: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Scores from the prior, for targets with no history to learn from."""
    persons = persons.reset_index(drop=True)
    x = m.feature_frame(persons)
    prior = m.PriorModel()
    return _scored(persons, x, prior.predict_proba(x), explain(prior, x, persons, evidence),
                   "prior")


def learned_scores(con: duckdb.DuckDBPyConnection, as_of: dt.date,
                   evidence: pd.DataFrame) -> tuple[pd.DataFrame, dict] | None:
    """Scores from a model learned on earlier snapshots, or None without history."""
    # At most two threads: more only oversubscribe a shared machine (a fit took
    # 7.7 s instead of 0.9 s beside other busy processes); scores are identical
    # with one or two threads (checked on the demo region).
    with threadpool_limits(min(2, os.cpu_count() or 1)):
        return _learned_scores(con, as_of, evidence)


def _learned_scores(con: duckdb.DuckDBPyConnection, as_of: dt.date,
                    evidence: pd.DataFrame) -> tuple[pd.DataFrame, dict] | None:
    current = con.execute("SELECT * FROM mart_persons ORDER BY id_number").df()
    history = m.load_history(con, as_of, current)
    pairs = m.training_pairs(history, con)
    if pairs.empty or pairs["y"].nunique() < 2:
        return None
    choice = m.choose_and_fit(pairs)
    targets = current[current["target_type"].notna()].reset_index(drop=True)
    x = m.feature_frame(targets, history.lapse(len(history.snapshots) - 1))
    scores = choice.model.predict_proba(x)
    uplift_model = m.fit_uplift(pairs, choice.report)
    uplift = m.predict_uplift(uplift_model, x) if uplift_model is not None else None
    reasons = explain(choice.model, x, targets, evidence)
    choice.report["scored_targets"] = len(targets)
    return _scored(targets, x, scores, reasons, choice.model.name, uplift), choice.report


def report_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, default=str, allow_nan=True)
