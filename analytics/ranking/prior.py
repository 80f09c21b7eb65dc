"""The documented prior: the score of a target when there is no history to
learn from, and the learned model's first baseline.

A base rate by target type, plus points for the groups a person is in, age and
the latest visit result. No fitting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.ranking.features import SURVEY_RESULTS

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
# The feature columns the prior reads.
PRIOR_COLUMNS = [
    "target_type",
    "age",
    *[f"g{g}" for g in PRIOR_GROUP],
    *[f"survey_{i}" for i in range(len(SURVEY_RESULTS))],
]


def prior_scores_of(x: pd.DataFrame) -> np.ndarray:
    """The prior for rows of :func:`analytics.ranking.features.feature_frame`.

    Enroll 8%, resume 15%, upgrade 4%; each group adds its points (group 7
    not for upgrades, which it never is); enrollees aged 45-59 +3, 60+ -4,
    under 25 -3; the latest visit result adds its points. Clipped to 1%-95%.
    """
    t = x["target_type"].to_numpy()
    score = np.full(len(t), np.nan)
    for target_type, base in PRIOR_BASE.items():
        score[t == target_type] = base
    if np.isnan(score).any():
        raise KeyError(f"target type not in PRIOR_BASE: {sorted(set(t[np.isnan(score)]))}")
    for g, (points, _) in PRIOR_GROUP.items():
        has = x[f"g{g}"].to_numpy() > 0
        if g == 7:
            has &= t != "upgrade"
        score += points * has
    age = x["age"].to_numpy()
    enroll = t == "enroll"
    score += enroll * np.select(
        [(age >= 45) & (age < 60), age >= 60, age < 25], [0.03, -0.04, -0.03], 0.0
    )
    for i, result in enumerate(SURVEY_RESULTS):
        score += PRIOR_SURVEY.get(result, 0.0) * (x[f"survey_{i}"].to_numpy() > 0)
    return np.clip(score, 0.01, 0.95)
