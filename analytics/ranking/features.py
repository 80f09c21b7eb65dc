"""Model inputs made from targets' rows (pure: frames in, a frame out).

The features of a target are what its registry snapshot knows on that
snapshot's date: nothing here reads a database or looks at a later date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TYPES = ("enroll", "resume", "upgrade")
# The visit results, one feature each (survey_0 … survey_5). The feature order is
# fixed so scores stay byte-identical: it is the model's, not the contract's
# (sources.toml lists the same set, values.survey_result, in another order).
SURVEY_RESULTS = ("同意参保", "考虑中", "拒绝", "联系不上", "已参保", "已在外地参保")
ABILITY = {"强": 2.0, "一般": 1.0, "弱": 0.0}
# Columns of reg_persons the features are made from (all known on the snapshot's date).
PERSON_COLUMNS = (
    "id_number",
    "target_type",
    "age",
    "gender",
    "urban",
    "street_code",
    "in_hukou",
    "in_residence",
    "insured_elsewhere",
    "residents_grade",
    "groups",
    "visits",
    "survey_result",
    "ability_to_pay",
    "annual_income",
    "properties",
    "vehicles",
    "platform_income",
    "platform_months",
    "migrant_income",
    "migrant_months",
    "live_entities",
    "entity_employees",
)
NUMERIC = [
    "age",
    "male",
    "urban",
    "in_hukou",
    "in_residence",
    "insured_elsewhere",
    "grade_log",
    "income_log",
    "has_income",
    "properties",
    "vehicles",
    "platform_income",
    "platform_months",
    "migrant_income",
    "migrant_months",
    "live_entities",
    "entity_employees",
    "visits",
    "lapse_quarters",
    "ability",
    "n_groups",
    *[f"g{g}" for g in range(1, 9)],
    *[f"survey_{i}" for i in range(len(SURVEY_RESULTS))],
]
# The two categorical features, besides NUMERIC.
CATEGORICAL = ["target_type", "street"]


def outcome_column(target_type: str) -> str:
    """The snapshot column that says a target of this type reached its outcome."""
    return {"enroll": "insured", "resume": "contributing", "upgrade": "employee_contributor"}[
        target_type
    ]


def _group_members(groups: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row's groups hold 1 … 8 (an (n, 8) float array), and how many
    distinct groups each row has (``None`` holds none). One pass over the lists,
    then numpy: a set per row and a membership test per row and group took 14 s
    of a million-person build."""
    lists = [g if g is not None else () for g in groups]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    parts = [np.asarray(g) for g in lists if len(g)]
    flat = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    low = int(flat.min()) if len(flat) else 0
    span = int(flat.max()) - low + 1 if len(flat) else 1
    distinct = np.unique(rows * span + (flat - low))  # (row, group) once each
    n_groups = np.bincount(distinct // span, minlength=len(lists)).astype(float)
    member = np.zeros((len(lists), 8))
    known = (flat >= 1) & (flat <= 8)
    member[rows[known], flat[known] - 1] = 1.0
    return member, n_groups


def feature_frame(persons: pd.DataFrame, lapse: pd.Series | None = None) -> pd.DataFrame:
    """Model inputs for targets (rows of reg_persons/mart_persons).

    ``lapse`` gives, by id_number, the number of consecutive snapshots up to this
    one in which the person has been a resume target."""
    p = persons.reset_index(drop=True)
    x = pd.DataFrame(index=p.index)
    x["target_type"] = p["target_type"].astype(str)
    x["age"] = p["age"].astype(float)
    x["male"] = (p["gender"] == "男").astype(float)
    for col in ("urban", "in_hukou", "in_residence", "insured_elsewhere"):
        x[col] = p[col].astype("boolean").fillna(False).astype(float)
    x["grade_log"] = np.log(p["residents_grade"].astype(float).clip(lower=1))
    income = pd.concat(
        [
            p["annual_income"].astype(float),
            12 * p["platform_income"].astype(float),
            12 * p["migrant_income"].astype(float),
        ],
        axis=1,
    ).max(axis=1)
    x["income_log"] = np.log(income.clip(lower=1))
    x["has_income"] = income.notna().astype(float)
    for col in (
        "properties",
        "vehicles",
        "platform_income",
        "platform_months",
        "migrant_income",
        "migrant_months",
        "live_entities",
        "entity_employees",
    ):
        x[col] = p[col].astype(float)
    x["visits"] = p["visits"].astype(float).fillna(0)
    x["lapse_quarters"] = (
        p["id_number"].map(lapse).astype(float).fillna(0) if lapse is not None else 0.0
    )
    x["ability"] = p["ability_to_pay"].map(ABILITY).astype(float)
    member, n_groups = _group_members(p["groups"])
    for g in range(1, 9):
        x[f"g{g}"] = member[:, g - 1]
    x["n_groups"] = n_groups
    for i, r in enumerate(SURVEY_RESULTS):
        x[f"survey_{i}"] = (p["survey_result"] == r).astype(float)
    x["street"] = p["street_code"].astype(str)
    return x
