"""The ranking's estimators follow scikit-learn's contract, on small synthetic data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from analytics.ranking.estimators import BoostedModel, LogisticModel, PriorModel, positive_proba
from analytics.ranking.features import NUMERIC, SURVEY_RESULTS, TYPES, feature_frame
from analytics.ranking.prior import prior_scores_of
from analytics.ranking.score import group_details
from analytics.sources import load_sources

# Each estimator with a parameter away from its default, so clone is seen to keep it.
ESTIMATORS = [
    pytest.param(lambda: PriorModel(), id="prior"),
    pytest.param(lambda: LogisticModel(C=0.3), id="logistic"),
    pytest.param(lambda: BoostedModel(extra=("treated",), max_iter=50), id="hgb"),
]
FITTED = {
    "prior": {"classes_"},
    "logistic": {"models_", "classes_"},
    "hgb": {"columns_", "streets_", "clf_", "classes_"},
}


def _persons(n: int = 360, seed: int = 7) -> pd.DataFrame:
    """A hand-made frame of targets with the reg_persons columns features read."""
    rng = np.random.default_rng(seed)
    income = rng.choice([np.nan, 30_000.0, 80_000.0, 150_000.0], n)
    return pd.DataFrame(
        {
            "id_number": [f"P{i:05d}" for i in range(n)],
            "target_type": [TYPES[i % 3] for i in range(n)],
            "age": rng.integers(18, 70, n),
            "gender": rng.choice(["男", "女"], n),
            "urban": rng.random(n) < 0.5,
            "in_hukou": rng.random(n) < 0.8,
            "in_residence": rng.random(n) < 0.7,
            "insured_elsewhere": rng.random(n) < 0.1,
            "residents_grade": rng.choice([np.nan, 200.0, 500.0, 1000.0], n),
            "annual_income": income,
            "platform_income": rng.choice([np.nan, 3000.0], n),
            "migrant_income": np.nan,
            "properties": rng.integers(0, 3, n),
            "vehicles": rng.integers(0, 2, n),
            "platform_months": rng.integers(0, 12, n),
            "migrant_months": 0,
            "live_entities": rng.integers(0, 2, n),
            "entity_employees": rng.integers(0, 20, n),
            "visits": rng.integers(0, 4, n),
            "ability_to_pay": rng.choice(["强", "一般", "弱", None], n),
            "groups": [
                sorted(set(rng.integers(1, 9, rng.integers(0, 3)).tolist())) for _ in range(n)
            ],
            "survey_result": rng.choice([*SURVEY_RESULTS, None], n),
            "street_code": rng.choice(["330102001", "330102002", "330102003"], n),
        }
    )


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    x = feature_frame(_persons())
    rng = np.random.default_rng(3)
    x["treated"] = (rng.random(len(x)) < 0.4).astype(float)
    p = prior_scores_of(x) + 0.2 * x["treated"].to_numpy()
    y = (rng.random(len(x)) < p).astype(float)
    return x, y


@pytest.mark.parametrize("make", ESTIMATORS)
def test_clone_gives_an_unfitted_copy_with_the_same_params(make, data) -> None:
    x, y = data
    model = make().fit(x, y)
    copy = clone(model)
    assert type(copy) is type(model)
    assert copy.get_params() == model.get_params() == make().get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    with pytest.raises(NotFittedError):
        copy.predict_proba(x)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_predict_before_fit_raises_not_fitted(make, data) -> None:
    with pytest.raises(NotFittedError):
        make().predict_proba(data[0])


@pytest.mark.parametrize("make", ESTIMATORS)
def test_a_frame_missing_a_feature_column_is_refused_by_name(make, data) -> None:
    x, y = data
    with pytest.raises(ValueError, match="survey_2"):
        make().fit(x.drop(columns="survey_2"), y)
    model = make().fit(x, y)
    with pytest.raises(ValueError, match="'age'"):
        model.predict_proba(x.drop(columns="age"))
    with pytest.raises(TypeError, match="DataFrame"):
        model.predict_proba(x.to_numpy())


@pytest.mark.parametrize("make", ESTIMATORS)
def test_fitted_attributes_end_in_underscore(make, data, request) -> None:
    x, y = data
    model = make()
    params = set(vars(model))
    assert params == set(model.get_params())  # __init__ stores its parameters, nothing else
    model.fit(x, y)
    learned = set(vars(model)) - params
    assert learned == FITTED[request.node.callspec.id]
    assert all(name.endswith("_") for name in learned)
    assert list(model.classes_) == [0.0, 1.0]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_same_input_gives_the_same_scores(make, data) -> None:
    x, y = data
    first = make().fit(x, y).predict_proba(x)
    second = make().fit(x.copy(), y.copy()).predict_proba(x.copy())
    assert first.shape == (len(x), 2)
    assert first.tobytes() == second.tobytes()
    np.testing.assert_allclose(first.sum(axis=1), 1.0)
    assert set(np.unique(make().fit(x, y).predict(x))) <= {0.0, 1.0}


def test_the_prior_estimator_scores_are_the_documented_prior(data) -> None:
    x, y = data
    model = PriorModel().fit(x, y)
    assert positive_proba(model, x).tobytes() == prior_scores_of(x).tobytes()


def test_logistic_keeps_the_prior_for_a_type_with_too_few_rows(data) -> None:
    x, y = data
    keep = (x["target_type"] != "upgrade") | (np.arange(len(x)) < 30)
    model = LogisticModel().fit(x[keep], y[keep.to_numpy()])
    assert "upgrade" not in model.models_
    upgrade = x[x["target_type"] == "upgrade"]
    assert positive_proba(model, upgrade).tobytes() == prior_scores_of(upgrade).tobytes()


def test_features_cover_the_contracts_survey_results_in_a_pinned_order() -> None:
    contract = set(load_sources().values["survey_result"].values())
    assert sorted(SURVEY_RESULTS) == sorted(contract)
    assert [f"survey_{i}" for i in range(len(SURVEY_RESULTS))] == NUMERIC[-len(SURVEY_RESULTS) :]


def test_exports_and_the_light_modules_do_not_load_scikit_learn() -> None:
    code = (
        "import sys, analytics.exports, analytics.ranking, analytics.ranking.prior, "
        "analytics.ranking.history, analytics.ranking.actions; "
        "print('sklearn' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert out.stdout.strip() == "False"


def test_a_group_reason_quotes_the_first_detail_by_kind_then_in_mart_order() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE mart_persons AS SELECT * FROM (VALUES "
        "('A', 'enroll'), ('B', 'resume'), ('C', NULL)) t(id_number, target_type)"
    )
    # A's group 1 has two kinds and, in the first kind, two details: the first of
    # that kind in the mart's order is quoted; a NULL detail never is; C is no target.
    con.execute(
        "CREATE TEMP TABLE mart_evidence AS SELECT * FROM (VALUES "
        "('A', 1, 'taxpayer', '纳税正常'), ('A', 1, 'market_entity', '个体户甲'), "
        "('A', 1, 'market_entity', '个体户乙'), ('A', 6, 'income', NULL), "
        "('A', 6, 'vehicle', '车辆1辆'), ('B', 2, 'dibao', '低保户'), "
        "('C', 1, 'market_entity', '个体户丙')) t(id_number, group_no, kind, detail)"
    )
    assert group_details(con) == {
        ("A", 1): "个体户甲",  # not 乙, which sorts first by code point
        ("A", 6): "车辆1辆",
        ("B", 2): "低保户",
    }
