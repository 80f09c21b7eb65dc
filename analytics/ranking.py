"""Scores, reasons and suggested actions for the targets of a registry build.

With no history the score is a documented *prior* from policy rules
(:func:`prior_scores`): a base rate by target type, raised or lowered by the
groups a person is in, age and the latest visit result. Each target also gets
the two or three facts behind its score in plain Chinese and one of the six
actions (六个一批) with the rule that picked it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Base chance of reaching the outcome by the next quarter end, by target type.
PRIOR_BASE = {"enroll": 0.08, "resume": 0.15, "upgrade": 0.04}
# Additive adjustments (probability points) and why.
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
PRIOR_SURVEY = {
    "同意参保": (0.30, "上次走访表示同意参保"),
    "考虑中": (0.10, "上次走访表示考虑中"),
    "拒绝": (-0.05, "上次走访拒绝参保"),
    "联系不上": (-0.03, "上次走访联系不上"),
}

ACTIONS = ("精准宣传动员", "典型引路带动", "强化执法扩面", "依法维权纳入", "完善政策吸纳",
           "政府帮扶兜底")


def suggest_action(target_type: str, groups: list[int]) -> tuple[str, str]:
    """One of the six actions and the rule that picked it.

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


def prior_scores(targets: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Prior scores for targets (columns id_number, target_type, groups, age,
    survey_result), with reasons built from the evidence details."""
    details = (evidence.sort_values(["id_number", "group_no", "kind"])
               .groupby(["id_number", "group_no"])["detail"].first())
    rows = []
    for t in targets.itertuples(index=False):
        groups = list(t.groups) if t.groups is not None else []
        score = PRIOR_BASE[t.target_type]
        factors: list[tuple[float, str]] = []
        for g in groups:
            if t.target_type == "upgrade" and g == 7:
                continue
            delta, why = PRIOR_GROUP[g]
            detail = details.get((t.id_number, g))
            score += delta
            factors.append((delta, detail or why))
        age = int(t.age)
        if t.target_type == "enroll":
            if 45 <= age < 60:
                score += 0.03
                factors.append((0.03, f"{age}岁，临近退休年龄，参保意愿较强"))
            elif age >= 60:
                score -= 0.04
                factors.append((-0.04, f"{age}岁，需补缴"))
            elif age < 25:
                score -= 0.03
        survey = PRIOR_SURVEY.get(t.survey_result or "")
        if survey:
            score += survey[0]
            factors.append(survey)
        action, rule = suggest_action(t.target_type, groups)
        positive = [why for delta, why in sorted(factors, key=lambda f: -f[0]) if delta > 0][:3]
        rows.append((t.id_number, float(np.clip(score, 0.01, 0.95)), "；".join(positive),
                     action, rule))
    out = pd.DataFrame(rows, columns=["id_number", "score", "reasons", "action", "action_rule"])
    out["uplift"] = np.nan
    out["model"] = "prior"
    return out
